"""``compat.migrate_config``: an MMCV 1.x config as engine Runner arguments.

``Runner(model=compat.adapt(model), work_dir=..., train_dataloader=...,
**compat.migrate_config(cfg))`` trains as the old runner did. The result is
a dict of Runner keyword arguments with a ``report``
(:class:`~compat.report.MigrationReport`) that classifies every field of the
old config as exact, approximated or unsupported, with the reason: nothing
is dropped silently.

Malformed input raises ``TypeError`` (wrong type), ``KeyError`` (missing
key) or ``ValueError`` (bad value), each naming the field.
"""
import copy
import os
from typing import Any, Dict, List, Mapping, Optional

from .config_checks import require_bool, require_dict, require_int
from .migrate_hooks import HookFields
from .migrate_optim import OptimizerFields
from .report import MigrationReport

__all__ = ['migrate_config', 'MigratedConfig']

# Old config keys that describe what to train (not how the runner runs):
# the caller builds these objects and hands them to the Runner.
_NOT_RUNNER_SETTINGS = {
    'model': 'build the model yourself and pass model=compat.adapt(model)',
    'data': 'build the dataloaders yourself and pass train_dataloader= '
    '(and val_dataloader=)',
    'dataset_type': 'a dataset setting, not a runner one',
    'data_root': 'a dataset setting, not a runner one',
    'img_norm_cfg': 'a dataset setting, not a runner one',
    'train_pipeline': 'a dataset setting, not a runner one',
    'test_pipeline': 'a dataset setting, not a runner one',
    'train_cfg': 'a model setting of MMCV 1.x codebases (the engine\'s '
    'train_cfg is the loop config; this one is not translated)',
    'test_cfg': 'a model setting of MMCV 1.x codebases, not translated',
    'custom_imports': 'import these modules before building the Runner',
    'gpu_ids': 'not needed: devices come from the launcher '
    '(CUDA_VISIBLE_DEVICES, torchrun)',
    'device': 'not needed: the engine places the model itself',
}


class MigratedConfig(dict):
    """Engine Runner keyword arguments, plus the :attr:`report`."""

    def __init__(self, kwargs: dict, report: MigrationReport,
                 leftovers: Optional[dict] = None):
        super().__init__(kwargs)
        self.report = report
        #: the old settings that are not runner settings (model, data...),
        #: kept for the config file the CLI writes
        self.leftovers = leftovers or {}


def _plain(value: Any) -> Any:
    """Plain dicts/lists (a Config's ConfigDicts included), deep-copied."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)


def _load(old_cfg: Any) -> dict:
    if isinstance(old_cfg, (str, os.PathLike)):
        from engine.config import Config
        old_cfg = Config.fromfile(os.fspath(old_cfg))
    to_dict = getattr(old_cfg, 'to_dict', None)
    if callable(to_dict) and not isinstance(old_cfg, dict):
        old_cfg = to_dict()
    if not isinstance(old_cfg, Mapping):
        raise TypeError('migrate_config expects an MMCV config: a dict, a '
                        'Config or a path to a config file, got '
                        f'{type(old_cfg).__name__}')
    return _plain(old_cfg)


class _Migration(OptimizerFields, HookFields):
    """One translation: reads ``cfg``, fills ``out`` and ``report``."""

    def __init__(self, cfg: dict, epoch_length: Optional[int]):
        self.cfg = cfg
        self.epoch_length = epoch_length
        self.out: Dict[str, Any] = {}
        self.report = MigrationReport()
        self.handled = set()
        self.by_epoch = True
        self.max_epochs: Optional[int] = None
        self.max_iters: Optional[int] = None
        self.optimizer_names: List[str] = []
        self.default_hooks: Dict[str, Any] = {}
        self.custom_hooks: List[Any] = []

    def take(self, key: str, default: Any = None) -> Any:
        self.handled.add(key)
        return self.cfg.get(key, default)

    def run(self) -> MigratedConfig:
        self.runner()
        self.optimizer()
        self.schedules()
        self.validation()
        self.checkpoint_config()
        self.log_config()
        self.custom_hooks_config()
        self.checkpoint_paths()
        self.environment()
        leftovers = self.leftovers()
        if self.default_hooks:
            self.out['default_hooks'] = self.default_hooks
        # converts legacy checkpoints on load/resume; costs nothing per
        # iteration (it only acts in after_load_checkpoint)
        self.custom_hooks.append(dict(type='LegacyCheckpointHook'))
        self.out['custom_hooks'] = self.custom_hooks
        return MigratedConfig(self.out, self.report, leftovers)

    # ------------------------------------------------------------- runner
    def runner(self) -> None:
        runner = self.take('runner')
        total_epochs = self.take('total_epochs')
        if total_epochs is not None:
            require_int('total_epochs', total_epochs)
        if runner is None:
            if total_epochs is None:
                return
            self.max_epochs = total_epochs
            self.out['train_cfg'] = dict(by_epoch=True,
                                         max_epochs=total_epochs)
            self.report.exact('total_epochs',
                              f'train_cfg=dict(by_epoch=True, max_epochs='
                              f'{total_epochs})')
            return
        require_dict('runner', runner)
        runner_type = runner.get('type')
        if runner_type is None:
            raise KeyError('runner needs a "type" (EpochBasedRunner or '
                           f'IterBasedRunner), got {runner!r}')
        if not isinstance(runner_type, str):
            raise TypeError(f'runner.type must be a str, got {runner_type!r}')
        max_epochs, max_iters = runner.get('max_epochs'), runner.get(
            'max_iters')
        if max_epochs is not None and max_iters is not None:
            raise ValueError('runner: only one of max_epochs and max_iters '
                             f'can be set, got {runner!r}')
        unknown = sorted(set(runner) - {'type', 'max_epochs', 'max_iters'})
        for key in unknown:
            self.report.unsupported(f'runner.{key}',
                                    'runner options other than max_epochs/'
                                    'max_iters are not translated')
        standard = runner_type in ('EpochBasedRunner', 'Runner',
                                   'IterBasedRunner')
        if runner_type == 'IterBasedRunner' or (not standard
                                                and max_iters is not None):
            if max_iters is None:
                raise KeyError(f'runner: {runner_type} needs max_iters, got '
                               f'{runner!r}')
            self.by_epoch = False
            self.max_iters = require_int('runner.max_iters', max_iters)
            self.out['train_cfg'] = dict(by_epoch=False, max_iters=max_iters)
            loop = 'IterBasedTrainLoop'
        else:
            if max_epochs is None:
                max_epochs = total_epochs
            if max_epochs is None:
                raise KeyError(f'runner: {runner_type} needs max_epochs, got '
                               f'{runner!r}')
            self.max_epochs = require_int('runner.max_epochs', max_epochs)
            self.out['train_cfg'] = dict(by_epoch=True, max_epochs=max_epochs)
            loop = 'EpochBasedTrainLoop'
        if total_epochs is not None:
            if not self.by_epoch or total_epochs != self.max_epochs:
                raise ValueError(
                    f'total_epochs={total_epochs} contradicts runner='
                    f'{runner!r}; keep one of them')
            self.report.exact('total_epochs', 'same as runner.max_epochs')
        if standard:
            self.report.exact('runner', f'train_cfg={self.out["train_cfg"]}'
                              f' ({loop})')
        else:
            self.report.unsupported(
                'runner', f'custom runner type {runner_type!r}: its own loop '
                f'logic is not translated; the engine\'s {loop} runs with '
                f'train_cfg={self.out["train_cfg"]}')

    # ------------------------------------------------- paths, environment
    def checkpoint_paths(self) -> None:
        load_from = self.take('load_from')
        resume_from = self.take('resume_from')
        auto_resume = self.take('auto_resume')
        for field, value in (('load_from', load_from), ('resume_from',
                                                        resume_from)):
            if value is not None and not isinstance(value, (str,
                                                            os.PathLike)):
                raise TypeError(f'{field} must be a checkpoint path or None, '
                                f'got {value!r}')
        if resume_from is not None:
            self.out['load_from'] = resume_from
            self.out['resume'] = True
            self.report.exact('resume_from', 'load_from=<path>, resume=True '
                              '(legacy checkpoints are converted on load by '
                              'LegacyCheckpointHook)')
            if load_from is not None:
                self.report.exact('load_from', 'ignored in favour of '
                                  'resume_from, as MMCV-era scripts did')
        elif load_from is not None:
            self.out['load_from'] = load_from
            self.report.exact('load_from', 'load_from (weights only)')
        if auto_resume is not None:
            require_bool('auto_resume', auto_resume)
            if auto_resume and resume_from is None:
                self.out['resume'] = True
                self.report.approximated(
                    'auto_resume', 'resume=True: the engine resumes from the '
                    'checkpoint named in work_dir/last_checkpoint (mmcv '
                    'looked for latest.pth)')
            else:
                self.report.exact('auto_resume', 'nothing to do')

    def environment(self) -> None:
        work_dir = self.take('work_dir')
        if work_dir is not None:
            if not isinstance(work_dir, (str, os.PathLike)):
                raise TypeError(f'work_dir must be a path, got {work_dir!r}')
            self.out['work_dir'] = work_dir
            self.report.exact('work_dir', 'work_dir')
        log_level = self.take('log_level')
        if log_level is not None:
            if not isinstance(log_level, (str, int)):
                raise TypeError(f'log_level must be a str or int, got '
                                f'{log_level!r}')
            self.out['log_level'] = log_level
            self.report.exact('log_level', 'log_level')
        env: Dict[str, Any] = {}
        dist_params = self.take('dist_params')
        if dist_params is not None:
            env['dist_cfg'] = dict(require_dict('dist_params', dist_params))
            self.report.exact('dist_params', 'env_cfg.dist_cfg (the launcher '
                              'is still chosen with Runner(launcher=...))')
        cudnn = self.take('cudnn_benchmark')
        if cudnn is not None:
            env['cudnn_benchmark'] = require_bool('cudnn_benchmark', cudnn)
            self.report.exact('cudnn_benchmark', 'env_cfg.cudnn_benchmark')
        mp_cfg = {}
        for key in ('mp_start_method', 'opencv_num_threads'):
            value = self.take(key)
            if value is not None:
                mp_cfg[key] = value
                self.report.exact(key, f'env_cfg.mp_cfg.{key}')
        if mp_cfg:
            env['mp_cfg'] = mp_cfg
        if env:
            env.setdefault('dist_cfg', dict(backend='nccl'))
            self.out['env_cfg'] = env
        randomness = {}
        for key in ('seed', 'deterministic'):
            value = self.take(key)
            if value is not None:
                randomness[key] = value
                self.report.exact(key, f'randomness.{key}')
        if randomness:
            randomness.setdefault('seed', None)
            self.out['randomness'] = randomness
        unused = self.take('find_unused_parameters')
        if unused is not None:
            self.out['cfg'] = dict(model_wrapper_cfg=dict(
                type='MMDistributedDataParallel',
                find_unused_parameters=require_bool('find_unused_parameters',
                                                     unused)))
            self.report.exact('find_unused_parameters',
                              'cfg.model_wrapper_cfg.find_unused_parameters')
        auto_scale = self.take('auto_scale_lr')
        if auto_scale is not None:
            self.out['auto_scale_lr'] = require_dict('auto_scale_lr',
                                                      auto_scale)
            self.report.exact('auto_scale_lr', 'auto_scale_lr')

    def leftovers(self) -> dict:
        """Report every key not translated; return the non-runner ones."""
        kept = {}
        for key, value in self.cfg.items():
            if key in self.handled:
                continue
            kept[key] = value
            reason = _NOT_RUNNER_SETTINGS.get(
                key, 'not a runner setting migrate_config knows; not '
                'translated')
            self.report.unsupported(key, reason)
        return kept


def migrate_config(old_cfg: Any,
                   epoch_length: Optional[int] = None) -> MigratedConfig:
    """Translate an MMCV 1.x config into ``engine.runner.Runner`` arguments.

    Args:
        old_cfg: the old config: a dict, an ``engine.config.Config`` or the
            path of a config file.
        epoch_length: batches per epoch of the training data, if known: the
            translated learning-rate and momentum curves are then compared
            with the old ones over the whole run, and the largest difference
            is written in the report.

    Returns:
        A dict of Runner keyword arguments (``optim_wrapper``,
        ``param_scheduler``, ``train_cfg``, ``val_cfg``, ``val_evaluator``,
        ``default_hooks``, ``custom_hooks``, ``log_processor``,
        ``load_from``, ``resume``, ``work_dir``, ``log_level``, ``env_cfg``,
        ``randomness``, ``cfg``... as present) with a ``report`` attribute.

    Raises:
        TypeError, KeyError, ValueError: a malformed field, named in the
            message.
    """
    if epoch_length is not None:
        require_int('epoch_length', epoch_length)
    return _Migration(_load(old_cfg), epoch_length).run()
