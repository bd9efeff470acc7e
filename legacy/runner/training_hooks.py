"""mmcv's ``register_*_hook`` family: default hooks built from configs and
registered with mmcv's priorities (a mixin of the legacy runners)."""
import copy
from typing import Dict, List, Optional, Union

from ..hooks.hook import HOOKS, Hook


def _check_config(name: str, config: object) -> None:
    """A hook config must be a dict, a hook or None; say which argument
    got what (mmcv fails later, inside registration, without naming it)."""
    if not (config is None or isinstance(config, (dict, Hook))):
        raise TypeError(f'{name} must be a config dict, a Hook or None, but '
                        f'got {type(config).__name__}: {config!r}')


class TrainingHooksMixin:
    """Registration of the default and custom hooks from mmcv configs; the
    runner provides ``register_hook`` and ``register_hook_from_cfg``."""

    @staticmethod
    def _policy_hook_cfg(config: Dict, suffix: str) -> Dict:
        """``dict(policy='step', ...)`` -> ``dict(type='StepLrUpdaterHook',
        ...)``; a policy in lower case is capitalised as in mmcv."""
        config = dict(config)
        if 'policy' not in config:
            raise KeyError(f'the {suffix} config needs a "policy" key (e.g. '
                           f"policy='step'), got {config}")
        policy = config.pop('policy')
        if not isinstance(policy, str):
            raise TypeError(f'the {suffix} policy must be a str, got '
                            f'{type(policy).__name__}')
        if policy == policy.lower():
            policy = policy.title()
        config['type'] = policy + suffix
        return config

    def register_lr_hook(self, lr_config: Union[Dict, Hook, None]) -> None:
        if lr_config is None:
            return
        if isinstance(lr_config, dict):
            lr_config = HOOKS.build(
                self._policy_hook_cfg(lr_config, 'LrUpdaterHook'))
        self.register_hook(lr_config, priority='VERY_HIGH')

    def register_momentum_hook(
            self, momentum_config: Union[Dict, Hook, None]) -> None:
        if momentum_config is None:
            return
        if isinstance(momentum_config, dict):
            momentum_config = HOOKS.build(
                self._policy_hook_cfg(momentum_config,
                                      'MomentumUpdaterHook'))
        self.register_hook(momentum_config, priority='HIGH')

    def _register_typed(self, config: Union[Dict, Hook, None],
                        default_type: str, priority: str) -> None:
        if config is None:
            return
        if isinstance(config, dict):
            config = dict(config)
            config.setdefault('type', default_type)
            config = HOOKS.build(config)
        self.register_hook(config, priority=priority)

    def register_optimizer_hook(
            self, optimizer_config: Union[Dict, Hook, None]) -> None:
        self._register_typed(optimizer_config, 'OptimizerHook',
                             'ABOVE_NORMAL')

    def register_checkpoint_hook(
            self, checkpoint_config: Union[Dict, Hook, None]) -> None:
        self._register_typed(checkpoint_config, 'CheckpointHook', 'NORMAL')

    def register_logger_hooks(self, log_config: Optional[Dict]) -> None:
        if log_config is None:
            return
        if not isinstance(log_config, dict) or 'interval' not in log_config \
                or not isinstance(log_config.get('hooks'), (list, tuple)):
            raise TypeError(
                'log_config must be a dict with "interval" and a list of '
                '"hooks", such as dict(interval=50, hooks=[dict(type='
                f'"TextLoggerHook")]), but got {log_config!r}')
        interval = log_config['interval']
        for info in log_config['hooks']:
            hook = HOOKS.build(info, default_args=dict(interval=interval))
            self.register_hook(hook, priority='VERY_LOW')

    def register_timer_hook(self, timer_config: Union[Dict, Hook,
                                                      None]) -> None:
        if timer_config is None:
            return
        if isinstance(timer_config, dict):
            timer_config = HOOKS.build(copy.deepcopy(timer_config))
        self.register_hook(timer_config, priority='LOW')

    def register_custom_hooks(
            self, custom_config: Union[List, Dict, Hook, None]) -> None:
        if custom_config is None:
            return
        if not isinstance(custom_config, list):
            custom_config = [custom_config]
        for item in custom_config:
            if isinstance(item, dict):
                self.register_hook_from_cfg(item)
            else:
                self.register_hook(item, priority='NORMAL')

    def register_training_hooks(
            self,
            lr_config: Union[Dict, Hook, None],
            optimizer_config: Union[Dict, Hook, None] = None,
            checkpoint_config: Union[Dict, Hook, None] = None,
            log_config: Optional[Dict] = None,
            momentum_config: Union[Dict, Hook, None] = None,
            timer_config: Union[Dict, Hook] = dict(type='IterTimerHook'),
            custom_hooks_config: Union[List, Dict, Hook, None] = None) -> None:
        """Register the default hooks with mmcv's priorities: lr (VERY_HIGH),
        momentum (HIGH), optimizer (ABOVE_NORMAL), checkpoint (NORMAL),
        timer (LOW), loggers (VERY_LOW), custom hooks (NORMAL by default,
        after the default hooks of the same priority). The config dicts are
        not modified."""
        for name, config in (('lr_config', lr_config),
                             ('optimizer_config', optimizer_config),
                             ('checkpoint_config', checkpoint_config),
                             ('momentum_config', momentum_config),
                             ('timer_config', timer_config)):
            _check_config(name, config)
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_timer_hook(timer_config)
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)
