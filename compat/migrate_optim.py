"""``optimizer``, ``optimizer_config``, ``fp16``, ``lr_config`` and
``momentum_config`` of an MMCV config as engine optim_wrapper and
param_scheduler arguments (part of :func:`compat.migrate_config`)."""
from typing import Any, Dict, List, Optional

from engine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from .config_checks import check_keys, require_dict, require_int
from .schedules import (dict_valued_keys, measure_lr_difference,
                        translate_schedule)

# optimizer hook type -> the keyword arguments mmcv's class accepts
_FP16_KEYS = {'grad_clip', 'coalesce', 'bucket_size_mb', 'loss_scale',
              'distributed', 'dtype'}  # dtype: legacy's hooks take it too
_OPTIMIZER_HOOKS = {
    'OptimizerHook': {'grad_clip', 'detect_anomalous_params'},
    'Fp16OptimizerHook': _FP16_KEYS,
    'GradientCumulativeOptimizerHook':
    {'cumulative_iters', 'grad_clip', 'detect_anomalous_params'},
    'GradientCumulativeFp16OptimizerHook': _FP16_KEYS | {'cumulative_iters'},
}
_CLIP_KEYS = {'max_norm', 'norm_type', 'error_if_nonfinite', 'foreach'}
_PARAMWISE_KEYS = {
    'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
    'dcn_offset_lr_mult', 'custom_keys', 'bypass_duplicate'
}


class OptimizerFields:
    """The optimizer and schedule fields of the migration (a mix-in of
    ``compat.migrate_config._Migration``, whose state it uses: ``take``,
    ``out``, ``report``, ``by_epoch``, ``max_epochs``/``max_iters``,
    ``epoch_length``, ``optimizer_names``)."""

    # ---------------------------------------------------------- optimizer
    def optimizer(self) -> None:
        optimizer = self.take('optimizer')
        has_hook_cfg = 'optimizer_config' in self.cfg
        hook_cfg = self.take('optimizer_config')
        fp16 = self.take('fp16')
        wrapper: Dict[str, Any] = {}
        wrapper_type = self.optimizer_hook(hook_cfg, has_hook_cfg, fp16,
                                           wrapper)
        if optimizer is None:
            if wrapper:
                self.report.unsupported(
                    'optimizer', 'missing, so the optimizer_config settings '
                    f'{sorted(wrapper)} have no optimizer to wrap: pass '
                    f'optim_wrapper=dict(type={wrapper_type!r}, optimizer='
                    f'..., **{wrapper}) yourself')
            return
        require_dict('optimizer', optimizer)
        if 'type' not in optimizer and optimizer and all(
                isinstance(v, dict) and 'type' in v
                for v in optimizer.values()):
            self.multi_optimizer(optimizer, wrapper_type, wrapper)
            return
        self.out['optim_wrapper'] = dict(
            type=wrapper_type,
            **self.one_optimizer('optimizer', optimizer),
            **wrapper)

    def one_optimizer(self, field: str, optimizer: dict) -> dict:
        """``optimizer=..., paramwise_cfg=..., constructor=...`` of one
        optim_wrapper config, with report entries."""
        optimizer = dict(optimizer)
        if 'type' not in optimizer:
            raise KeyError(f'{field} needs a "type" such as "SGD", got '
                           f'{optimizer!r}')
        opt_type = optimizer['type']
        if not isinstance(opt_type, (str, type)):
            raise TypeError(f'{field}.type must be a str or a class, got '
                            f'{opt_type!r}')
        result: Dict[str, Any] = {}
        paramwise = optimizer.pop('paramwise_cfg', None)
        constructor = optimizer.pop('constructor', None)
        if isinstance(opt_type, str) and opt_type not in OPTIMIZERS:
            self.report.unsupported(
                f'{field}.type', f'{opt_type!r} is not a registered engine '
                'optimizer: register it in engine.registry.OPTIMIZERS before '
                'building the Runner (the name is kept)')
        else:
            self.report.exact(field, f'optim_wrapper.optimizer={optimizer}')
        result['optimizer'] = optimizer
        if paramwise is not None:
            require_dict(f'{field}.paramwise_cfg', paramwise)
            unknown = sorted(set(paramwise) - _PARAMWISE_KEYS)
            if unknown:
                raise KeyError(f'{field}.paramwise_cfg has unknown key(s) '
                               f'{unknown}; mmcv accepts '
                               f'{sorted(_PARAMWISE_KEYS)}')
            result['paramwise_cfg'] = paramwise
            self.report.exact(
                f'{field}.paramwise_cfg', 'optim_wrapper.paramwise_cfg (the '
                'engine constructor applies the same multipliers and '
                'custom_keys order)')
        if constructor not in (None, 'DefaultOptimizerConstructor'):
            result['constructor'] = constructor
            if isinstance(constructor, str) and \
                    constructor not in OPTIM_WRAPPER_CONSTRUCTORS:
                self.report.unsupported(
                    f'{field}.constructor',
                    f'{constructor!r} is not a registered engine optimizer '
                    'wrapper constructor; register an equivalent in '
                    'engine.registry.OPTIM_WRAPPER_CONSTRUCTORS (the name is '
                    'kept)')
            else:
                self.report.exact(f'{field}.constructor',
                                  'optim_wrapper.constructor')
        elif constructor is not None:
            self.report.exact(f'{field}.constructor',
                              'the engine\'s DefaultOptimWrapperConstructor')
        return result

    def multi_optimizer(self, optimizer: dict, wrapper_type: str,
                        wrapper: dict) -> None:
        """``optimizer=dict(generator=dict(type=...), ...)``: one optimizer
        per sub-module, as GAN codebases configured it."""
        self.optimizer_names = list(optimizer)
        per_module = {}
        for name, cfg in optimizer.items():
            per_module[name] = dict(
                type=wrapper_type,
                **self.one_optimizer(f'optimizer.{name}', cfg),
                **wrapper)
        self.out['optim_wrapper'] = dict(
            constructor='LegacyMultiOptimWrapperConstructor', **per_module)

    def optimizer_hook(self, hook_cfg: Any, present: bool, fp16: Any,
                       wrapper: dict) -> str:
        """Translate optimizer_config (+ fp16) into wrapper settings; return
        the wrapper type."""
        field = 'optimizer_config'
        if fp16 is not None:
            require_dict('fp16', fp16)
            check_keys('fp16', fp16, _FP16_KEYS, 'Fp16OptimizerHook')
        if hook_cfg is None:
            if fp16 is not None:
                raise ValueError(
                    'fp16 is set but optimizer_config is None: MMCV-era '
                    'training scripts build Fp16OptimizerHook(**'
                    'optimizer_config, **fp16), so give an optimizer_config')
            if present:
                self.report.exact(
                    field, 'None: no OptimizerHook, so the model\'s '
                    'train_step updates its parameters itself (compat.adapt '
                    'hands it optimizers backed by the OptimWrapper)')
            return 'OptimWrapper'
        if not isinstance(hook_cfg, dict):
            raise TypeError(f'{field} must be a dict or None, got '
                            f'{type(hook_cfg).__name__}: {hook_cfg!r}')
        hook_cfg = dict(hook_cfg)
        hook_type = hook_cfg.pop('type', 'OptimizerHook')
        if not isinstance(hook_type, str):
            raise TypeError(f'{field}.type must be a str, got {hook_type!r}')
        custom = hook_type not in _OPTIMIZER_HOOKS
        if fp16 is not None:
            duplicated = sorted(set(fp16) & set(hook_cfg))
            if duplicated:
                raise ValueError(f'fp16 and {field} both set {duplicated}')
            hook_cfg.update(fp16)
            if not custom:
                hook_type = ('GradientCumulativeFp16OptimizerHook'
                             if 'Cumulative' in hook_type else
                             'Fp16OptimizerHook')
        if custom:
            allowed = set().union(*_OPTIMIZER_HOOKS.values())
            self.report.unsupported(
                field, f'custom optimizer hook {hook_type!r}: its own update '
                'logic is not translated; the standard update with the '
                f'recognised settings {sorted(set(hook_cfg) & allowed)} is '
                'used (run it on legacy.Runner, or port it to an OptimWrapper'
                ' subclass)')
            hook_cfg = {k: v for k, v in hook_cfg.items() if k in allowed}
        else:
            check_keys(field, hook_cfg, _OPTIMIZER_HOOKS[hook_type],
                        hook_type)
        amp = 'Fp16' in hook_type or 'loss_scale' in hook_cfg
        if 'Fp16' in hook_type:
            hook_cfg.setdefault('loss_scale', 512.)  # mmcv's default
        self.grad_clip(field, hook_cfg.get('grad_clip'), wrapper)
        if 'cumulative_iters' in hook_cfg:
            wrapper['accumulative_counts'] = require_int(
                f'{field}.cumulative_iters', hook_cfg['cumulative_iters'])
            self.report.exact(
                f'{field}.cumulative_iters',
                f'accumulative_counts={wrapper["accumulative_counts"]} (the '
                'last incomplete group of the run is divided by its real '
                'size, as mmcv did)')
        if amp:
            wrapper['loss_scale'] = self.loss_scale(hook_cfg['loss_scale'])
            if 'dtype' in hook_cfg:
                wrapper['dtype'] = hook_cfg['dtype']
            self.report.approximated(
                'fp16' if fp16 is not None else field,
                f'AmpOptimWrapper(loss_scale={wrapper["loss_scale"]!r}): '
                'autocast covers the whole forward, where mmcv cast only '
                '@auto_fp16 methods; mixed-precision numbers are not '
                'bitwise comparable in any case')
            for key in ('coalesce', 'bucket_size_mb', 'distributed'):
                if key in hook_cfg:
                    self.report.exact(
                        f'{field}.{key}', 'no effect (mmcv ignored it on '
                        'torch >= 1.6 too)')
        if hook_cfg.get('detect_anomalous_params'):
            self.report.unsupported(
                f'{field}.detect_anomalous_params',
                'in distributed runs use cfg.model_wrapper_cfg=dict(type='
                '"MMDistributedDataParallel", detect_anomalous_params=True)')
        if not custom:
            self.report.exact(field, f'{hook_type} -> '
                              f'{"AmpOptimWrapper" if amp else "OptimWrapper"}')
        return 'AmpOptimWrapper' if amp else 'OptimWrapper'

    def grad_clip(self, field: str, grad_clip: Any, wrapper: dict) -> None:
        if grad_clip is None:
            return
        require_dict(f'{field}.grad_clip', grad_clip)
        check_keys(f'{field}.grad_clip', grad_clip, _CLIP_KEYS,
                    'clip_grad_norm_')
        if 'max_norm' not in grad_clip:
            raise KeyError(f'{field}.grad_clip needs max_norm, got '
                           f'{grad_clip!r}')
        wrapper['clip_grad'] = dict(grad_clip)
        self.report.exact(f'{field}.grad_clip',
                          f'clip_grad={wrapper["clip_grad"]}')

    @staticmethod
    def loss_scale(value: Any) -> Any:
        if value == 'dynamic' or isinstance(value, dict):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError('loss_scale must be "dynamic", a number or a '
                             f'dict of GradScaler arguments, got {value!r}')
        if value <= 0:
            raise ValueError(f'loss_scale must be positive, got {value!r}')
        return float(value)

    # ---------------------------------------------------------- schedules
    def schedules(self) -> None:
        scheds: List[dict] = []
        policies: List[dict] = []
        for kind, field in (('lr', 'lr_config'), ('momentum',
                                                  'momentum_config')):
            cfg = self.take(field)
            if cfg is None:
                continue
            if isinstance(cfg, dict) and 'policy' not in cfg and 'type' in cfg:
                self.report.unsupported(
                    field, f'custom updater hook {cfg["type"]!r}: only '
                    'mmcv\'s policies can be translated (run it as a legacy '
                    'hook in custom_hooks instead)')
                continue
            sched = translate_schedule(kind, field, cfg, self.by_epoch)
            scheds.append(sched)
            policies.append(sched['policy_cfg'])
            self.report.exact(field, f'{sched["type"]} (mmcv\'s closed form '
                              'at every iteration)',
                              max_lr_diff=self.measure(kind, cfg, sched))
        if not scheds:
            return
        names = self.optimizer_names or dict_valued_keys(policies)
        if names:
            # mmcv looked per-optimizer values up by the optimizer's key
            self.out['param_scheduler'] = {
                name: [dict(s, optimizer_name=name) for s in scheds]
                for name in names
            }
        else:
            self.out['param_scheduler'] = scheds

    def measure(self, kind: str, cfg: dict, sched: dict) -> Optional[float]:
        """The difference over the whole run, when its length is known."""
        if self.epoch_length is None or (self.max_epochs is None
                                         and self.max_iters is None):
            return None
        try:
            return measure_lr_difference(
                kind, cfg, [sched], self.by_epoch, self.epoch_length,
                max_epochs=self.max_epochs, max_iters=self.max_iters)
        except (TypeError, ValueError, KeyError):
            return None  # needs the real optimizer (per-optimizer options)
