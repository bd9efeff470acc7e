"""mmcv's runner registry and ``build_runner``."""
import copy
from typing import Optional

from engine.registry import Registry

RUNNERS = Registry('runner')
RUNNER_BUILDERS = Registry('runner builder')


@RUNNER_BUILDERS.register_module()
class DefaultRunnerConstructor:
    """Build a runner from ``RUNNERS``; subclass it (and register it in
    ``RUNNER_BUILDERS``) to customise runners built from configs."""

    def __init__(self, runner_cfg: dict, default_args: Optional[dict] = None):
        if not isinstance(runner_cfg, dict):
            raise TypeError('runner_cfg should be a dict, but got '
                            f'{type(runner_cfg).__name__}')
        self.runner_cfg = runner_cfg
        self.default_args = default_args

    def __call__(self):
        return RUNNERS.build(self.runner_cfg, default_args=self.default_args)


def build_runner_constructor(cfg: dict):
    return RUNNER_BUILDERS.build(cfg)


def build_runner(cfg: dict, default_args: Optional[dict] = None):
    """Build a runner from ``cfg`` (e.g. ``dict(type='EpochBasedRunner',
    max_epochs=12)``); ``default_args`` fill what the config leaves out
    (model, optimizer, work_dir, logger, meta)."""
    runner_cfg = copy.deepcopy(cfg)
    constructor_type = runner_cfg.pop('constructor',
                                      'DefaultRunnerConstructor')
    constructor = build_runner_constructor(
        dict(
            type=constructor_type,
            runner_cfg=runner_cfg,
            default_args=default_args))
    return constructor()
