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
from typing import Any, Dict, List, Mapping, Optional, Tuple

from engine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from .report import MigrationReport
from .schedules import (dict_valued_keys, measure_lr_difference,
                        translate_schedule)

__all__ = ['migrate_config', 'MigratedConfig']

# optimizer hook type -> the keyword arguments mmcv's class accepts
_FP16_KEYS = {'grad_clip', 'coalesce', 'bucket_size_mb', 'loss_scale',
              'distributed'}
_OPTIMIZER_HOOKS = {
    'OptimizerHook': {'grad_clip', 'detect_anomalous_params'},
    'Fp16OptimizerHook': _FP16_KEYS,
    'GradientCumulativeOptimizerHook':
    {'cumulative_iters', 'grad_clip', 'detect_anomalous_params'},
    'GradientCumulativeFp16OptimizerHook': _FP16_KEYS | {'cumulative_iters'},
}
_CLIP_KEYS = {'max_norm', 'norm_type', 'error_if_nonfinite', 'foreach'}
_CHECKPOINT_KEYS = {
    'type', 'interval', 'by_epoch', 'save_optimizer', 'out_dir',
    'max_keep_ckpts', 'save_last', 'sync_buffer', 'file_client_args',
    'filename_tmpl', 'create_symlink'
}
_TEXT_LOGGER_KEYS = {
    'type', 'by_epoch', 'interval', 'ignore_last', 'reset_flag',
    'interval_exp_name', 'out_dir', 'out_suffix', 'keep_local',
    'file_client_args'
}
_EVAL_HOOK_KEYS = {
    'interval', 'by_epoch', 'start', 'save_best', 'rule', 'greater_keys',
    'less_keys', 'out_dir', 'file_client_args', 'gpu_collect', 'tmpdir',
    'broadcast_bn_buffer', 'test_fn', 'type'
}
_PARAMWISE_KEYS = {
    'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
    'dcn_offset_lr_mult', 'custom_keys', 'bypass_duplicate'
}
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
# Run mode + environment keys handled one to one.
_LEGACY_METRIC = 'LegacyLogVarsMetric'


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


def _require_dict(field: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f'{field} must be a dict, got '
                        f'{type(value).__name__}: {value!r}')
    return value


def _require_int(field: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{field} must be an int, got '
                        f'{type(value).__name__}: {value!r}')
    if value < minimum:
        raise ValueError(f'{field} must be >= {minimum}, got {value}')
    return value


def _require_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'{field} must be a bool, got '
                        f'{type(value).__name__}: {value!r}')
    return value


def _check_keys(field: str, cfg: dict, allowed: set, what: str) -> None:
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise TypeError(f'{field}: {what} got unexpected key(s) {unknown}; '
                        f'it accepts {sorted(allowed - {"type"})}')


class _Migration:
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
            _require_int('total_epochs', total_epochs)
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
        _require_dict('runner', runner)
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
            self.max_iters = _require_int('runner.max_iters', max_iters)
            self.out['train_cfg'] = dict(by_epoch=False, max_iters=max_iters)
            loop = 'IterBasedTrainLoop'
        else:
            if max_epochs is None:
                max_epochs = total_epochs
            if max_epochs is None:
                raise KeyError(f'runner: {runner_type} needs max_epochs, got '
                               f'{runner!r}')
            self.max_epochs = _require_int('runner.max_epochs', max_epochs)
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
        _require_dict('optimizer', optimizer)
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
            _require_dict(f'{field}.paramwise_cfg', paramwise)
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
            _require_dict('fp16', fp16)
            _check_keys('fp16', fp16, _FP16_KEYS, 'Fp16OptimizerHook')
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
            _check_keys(field, hook_cfg, _OPTIMIZER_HOOKS[hook_type],
                        hook_type)
        amp = 'Fp16' in hook_type or 'loss_scale' in hook_cfg
        if 'Fp16' in hook_type:
            hook_cfg.setdefault('loss_scale', 512.)  # mmcv's default
        self.grad_clip(field, hook_cfg.get('grad_clip'), wrapper)
        if 'cumulative_iters' in hook_cfg:
            wrapper['accumulative_counts'] = _require_int(
                f'{field}.cumulative_iters', hook_cfg['cumulative_iters'])
            self.report.exact(
                f'{field}.cumulative_iters',
                f'accumulative_counts={wrapper["accumulative_counts"]} (the '
                'last incomplete group of the run is divided by its real '
                'size, as mmcv did)')
        if amp:
            wrapper['loss_scale'] = self.loss_scale(hook_cfg['loss_scale'])
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
        _require_dict(f'{field}.grad_clip', grad_clip)
        _check_keys(f'{field}.grad_clip', grad_clip, _CLIP_KEYS,
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

    # --------------------------------------------------------- validation
    def validation(self) -> None:
        workflow = self.take('workflow')
        evaluation = self.take('evaluation')
        val_interval = None
        if workflow is not None:
            val_interval = self.workflow(workflow)
        if evaluation is not None:
            val_interval = self.evaluation(evaluation, val_interval)
        if val_interval is not None and 'train_cfg' in self.out:
            self.out['train_cfg']['val_interval'] = val_interval

    def workflow(self, workflow: Any) -> Optional[int]:
        if not isinstance(workflow, (list, tuple)) or not workflow:
            raise TypeError('workflow must be a non-empty list of (mode, '
                            f'epochs) tuples, got {workflow!r}')
        flows = []
        for i, flow in enumerate(workflow):
            if not (isinstance(flow, (list, tuple)) and len(flow) == 2
                    and isinstance(flow[0], str)):
                raise TypeError(f'workflow[{i}] must be a (mode, count) '
                                f'tuple such as ("train", 1), got {flow!r}')
            _require_int(f'workflow[{i}] count', flow[1])
            flows.append((flow[0], flow[1]))
        modes = [m for m, _ in flows]
        if modes == ['train']:
            self.report.exact('workflow', 'training only (the default)')
            return None
        bad = [m for m in modes if m not in ('train', 'val')]
        if bad or modes != ['train', 'val']:
            self.report.unsupported(
                'workflow', f'{flows}: only [("train", n)] and [("train", n),'
                ' ("val", m)] can be expressed (the engine validates after '
                'training)' + (f'; unknown modes {bad}' if bad else ''))
            return None
        (_, train_n), (_, val_n) = flows
        self.out['val_cfg'] = dict(type='ValLoop')
        self.out['val_evaluator'] = dict(type=_LEGACY_METRIC)
        if self.by_epoch and val_n == 1:
            self.report.exact(
                'workflow', f'validation every {train_n} epoch(s) '
                f'(val_interval={train_n}) with {_LEGACY_METRIC}: pass '
                'val_dataloader to the Runner')
        else:
            unit = 'epochs' if self.by_epoch else 'iterations'
            self.report.approximated(
                'workflow', f'validation every {train_n} {unit} over the '
                f'whole val_dataloader, where mmcv ran {val_n} val '
                f'{unit}; pass val_dataloader to the Runner')
        return train_n

    def evaluation(self, evaluation: Any,
                   workflow_interval: Optional[int]) -> Optional[int]:
        _require_dict('evaluation', evaluation)
        evaluation = dict(evaluation)
        interval = _require_int('evaluation.interval',
                                evaluation.get('interval', 1))
        by_epoch = evaluation.get('by_epoch', self.by_epoch)
        _require_bool('evaluation.by_epoch', by_epoch)
        start = evaluation.get('start')
        eval_kwargs = sorted(set(evaluation) - _EVAL_HOOK_KEYS)
        if by_epoch != self.by_epoch:
            self.report.unsupported(
                'evaluation.by_epoch', f'{by_epoch} on an '
                f'{"epoch" if self.by_epoch else "iteration"}-based run: the '
                'engine validates in the loop\'s own unit')
        self.out.setdefault('val_cfg', dict(type='ValLoop'))
        if workflow_interval is not None and workflow_interval != interval:
            self.report.approximated(
                'evaluation.interval', f'{interval} and the workflow\'s '
                f'{workflow_interval}: the engine has one validation '
                f'schedule; val_interval={interval} is used')
        else:
            self.report.exact('evaluation.interval',
                              f'train_cfg.val_interval={interval}')
        if start is not None:
            start = _require_int('evaluation.start', start, minimum=0)
            if 'train_cfg' in self.out:
                self.out['train_cfg']['val_begin'] = start
            if start % interval == 0 or interval == 1:
                self.report.exact('evaluation.start',
                                  f'train_cfg.val_begin={start}')
            else:
                self.report.approximated(
                    'evaluation.start', f'val_begin={start}: the engine '
                    f'validates at multiples of {interval} from {start} on; '
                    f'mmcv validated at {start}, {start + interval}, ...')
        save_best = evaluation.get('save_best')
        if save_best is not None:
            checkpoint = self.default_hooks.setdefault(
                'checkpoint', dict(type='CheckpointHook'))
            checkpoint['save_best'] = save_best
            for key in ('rule', 'greater_keys', 'less_keys'):
                if evaluation.get(key) is not None:
                    checkpoint[key] = evaluation[key]
            self.report.exact(
                'evaluation.save_best',
                f'CheckpointHook(save_best={save_best!r}'
                f'{", rule=" + repr(evaluation["rule"]) if evaluation.get("rule") else ""})')
        for key in ('gpu_collect', 'tmpdir', 'broadcast_bn_buffer', 'out_dir',
                    'file_client_args', 'test_fn'):
            if key in evaluation:
                self.report.approximated(
                    f'evaluation.{key}', 'not needed: the engine gathers '
                    'results across ranks itself' if key != 'test_fn' else
                    'the engine runs the model\'s val_step')
        if eval_kwargs:
            self.report.unsupported(
                'evaluation', f'the metric arguments {eval_kwargs} went to '
                'dataset.evaluate(); the engine evaluates with Metric objects'
                ': pass val_evaluator= (and val_dataloader=) computing them')
        elif 'val_evaluator' not in self.out:
            self.report.unsupported(
                'evaluation', 'pass val_evaluator= and val_dataloader= to '
                'the Runner: the engine evaluates with Metric objects')
        return interval

    # ---------------------------------------------------------- hooks
    def checkpoint_config(self) -> None:
        present = 'checkpoint_config' in self.cfg
        cfg = self.take('checkpoint_config')
        if cfg is None:
            if 'checkpoint' in self.default_hooks:
                # only save_best from evaluation: mmcv's EvalHook saved those
                self.default_hooks['checkpoint'].update(interval=-1,
                                                        save_last=False)
            else:
                self.default_hooks['checkpoint'] = None
            self.report.exact(
                'checkpoint_config', ('None' if present else 'absent') +
                ': no periodic checkpoints (the engine\'s default '
                'CheckpointHook is disabled)')
            return
        _require_dict('checkpoint_config', cfg)
        cfg = dict(cfg)
        hook_type = cfg.get('type', 'CheckpointHook')
        if hook_type != 'CheckpointHook':
            self.report.unsupported(
                'checkpoint_config.type', f'custom checkpoint hook '
                f'{hook_type!r}; the engine CheckpointHook is used')
        extra = sorted(set(cfg) - _CHECKPOINT_KEYS)
        for key in extra:
            self.report.unsupported(
                f'checkpoint_config.{key}', 'went to mmcv\'s '
                'runner.save_checkpoint; not translated')
        hook = dict(type='CheckpointHook')
        hook.update({
            k: v
            for k, v in cfg.items()
            if k in _CHECKPOINT_KEYS - {
                'type', 'sync_buffer', 'create_symlink', 'file_client_args'
            }
        })
        hook.setdefault('interval', -1)
        hook.setdefault('by_epoch', self.by_epoch)
        if 'file_client_args' in cfg:
            hook['file_client_args'] = cfg['file_client_args']
        best = self.default_hooks.get('checkpoint') or {}
        hook.update({k: v for k, v in best.items() if k != 'type'})
        self.default_hooks['checkpoint'] = hook
        self.report.exact('checkpoint_config',
                          f'default_hooks.checkpoint={hook}')
        if cfg.get('create_symlink', True):
            self.report.approximated(
                'checkpoint_config.create_symlink',
                'no latest.pth symlink: the engine writes a last_checkpoint '
                'file (resume=True finds the latest checkpoint through it)')
        if cfg.get('sync_buffer'):
            self.custom_hooks.append(dict(type='SyncBuffersHook'))
            self.report.approximated(
                'checkpoint_config.sync_buffer',
                'SyncBuffersHook: buffers are synchronised after every train '
                'epoch, not only before saving')

    def log_config(self) -> None:
        present = 'log_config' in self.cfg
        cfg = self.take('log_config')
        if cfg is None:
            self.default_hooks['logger'] = None
            self.report.exact(
                'log_config', ('None' if present else 'absent') +
                ': no logger hooks (the engine\'s LoggerHook is disabled)')
            return
        _require_dict('log_config', cfg)
        if 'interval' not in cfg:
            raise KeyError('log_config needs an "interval", got '
                           f'{cfg!r}')
        interval = _require_int('log_config.interval', cfg['interval'])
        hooks = cfg.get('hooks', [])
        if not isinstance(hooks, (list, tuple)):
            raise TypeError('log_config.hooks must be a list of hook configs, '
                            f'got {hooks!r}')
        for key in sorted(set(cfg) - {'interval', 'hooks'}):
            self.report.unsupported(f'log_config.{key}', 'not an option mmcv '
                                    'used; not translated')
        text = None
        for i, hook in enumerate(hooks):
            field = f'log_config.hooks[{i}]'
            _require_dict(field, hook)
            if 'type' not in hook:
                raise KeyError(f'{field} needs a "type", got {hook!r}')
            if hook['type'] == 'TextLoggerHook':
                if text is not None:
                    self.report.unsupported(field, 'a second TextLoggerHook '
                                            'is not translated')
                    continue
                _check_keys(field, hook, _TEXT_LOGGER_KEYS, 'TextLoggerHook')
                text = hook
                continue
            bridged = dict(hook)
            bridged.setdefault('interval', interval)
            if not self.by_epoch:
                bridged.setdefault('by_epoch', False)
            self.custom_hooks.append(
                dict(type='LegacyHookBridge', hook=bridged,
                     priority='VERY_LOW'))
            self.report.exact(
                field, f'{hook["type"]} runs as a legacy hook through '
                'LegacyHookBridge (import legacy before building the Runner)')
        if text is None:
            self.default_hooks['logger'] = None
            self.report.exact('log_config', 'no TextLoggerHook: the '
                              'engine\'s LoggerHook is disabled')
            return
        logger = dict(type='LoggerHook',
                      interval=text.get('interval', interval))
        for key in ('ignore_last', 'interval_exp_name', 'out_dir',
                    'keep_local', 'file_client_args'):
            if key in text:
                logger[key] = text[key]
        if 'out_suffix' in text:
            logger['out_suffix'] = text['out_suffix']
        self.default_hooks['logger'] = logger
        by_epoch = text.get('by_epoch', self.by_epoch)
        # mmcv averaged every logged value (weighted by num_samples) over the
        # interval; mmengine only the keys matching its mean_pattern.
        self.out['log_processor'] = dict(
            window_size=logger['interval'],
            by_epoch=by_epoch,
            mean_pattern=r'^(?!(.*\.)?(lr|momentum)$).*')
        self.report.approximated(
            'log_config', f'LoggerHook(interval={logger["interval"]}) and a '
            'LogProcessor averaging every value over the interval as mmcv '
            'did: same numbers, but the engine\'s log line format and '
            'vis_data/scalars.json instead of mmcv\'s <time>.log.json')
        if 'reset_flag' in text:
            self.report.exact('log_config.hooks.reset_flag',
                              'no effect on what is logged')

    def custom_hooks_config(self) -> None:
        hooks = self.take('custom_hooks')
        if hooks is None:
            return
        if isinstance(hooks, dict):
            hooks = [hooks]
        if not isinstance(hooks, (list, tuple)):
            raise TypeError('custom_hooks must be a list of hook configs, got '
                            f'{type(hooks).__name__}: {hooks!r}')
        from .hook_bridge import (_registries, find_legacy_hook_type,
                                  is_legacy_hook)
        for i, hook in enumerate(hooks):
            field = f'custom_hooks[{i}]'
            if isinstance(hook, dict):
                if 'type' not in hook:
                    raise KeyError(f'{field} needs a "type", got {hook!r}')
                hook = dict(hook)
                priority = hook.pop('priority', 'NORMAL')
                hook_type = hook['type']
                if isinstance(hook_type, str) and _registries() and \
                        find_legacy_hook_type(hook_type) is None:
                    raise KeyError(f'{field}.type {hook_type!r} is not a '
                                   'registered legacy hook')
                self.custom_hooks.append(
                    dict(type='LegacyHookBridge', hook=hook,
                         priority=priority))
                name = hook_type if isinstance(hook_type, str) else \
                    getattr(hook_type, '__name__', hook_type)
            elif is_legacy_hook(hook):
                from .hook_bridge import bridge_hook
                self.custom_hooks.append(bridge_hook(hook))
                name = type(hook).__name__
            else:
                raise TypeError(f'{field} must be a hook config dict or an '
                                f'mmcv-style hook, got {hook!r}')
            self.report.exact(field, f'{name} runs as a legacy hook through '
                              'LegacyHookBridge (mmcv stages mapped to the '
                              'engine\'s)')

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
            _require_bool('auto_resume', auto_resume)
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
            env['dist_cfg'] = dict(_require_dict('dist_params', dist_params))
            self.report.exact('dist_params', 'env_cfg.dist_cfg (the launcher '
                              'is still chosen with Runner(launcher=...))')
        cudnn = self.take('cudnn_benchmark')
        if cudnn is not None:
            env['cudnn_benchmark'] = _require_bool('cudnn_benchmark', cudnn)
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
                find_unused_parameters=_require_bool('find_unused_parameters',
                                                     unused)))
            self.report.exact('find_unused_parameters',
                              'cfg.model_wrapper_cfg.find_unused_parameters')
        auto_scale = self.take('auto_scale_lr')
        if auto_scale is not None:
            self.out['auto_scale_lr'] = _require_dict('auto_scale_lr',
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
        _require_int('epoch_length', epoch_length)
    return _Migration(_load(old_cfg), epoch_length).run()
