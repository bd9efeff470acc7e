"""Everything the Runner builds from configs, kept out of the Runner so that
it only orchestrates.

Each builder accepts either a ready object (returned as is) or a config, and
rejects anything else with an error naming the argument and what was
expected. Heavy modules are imported inside the builders that need them, so
that importing ``engine.runner`` stays cheap.
"""
import copy
import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple, Union

import torch.nn as nn

from engine.registry import (EVALUATOR, HOOKS, LOG_PROCESSORS, LOOPS, MODELS,
                             MODEL_WRAPPERS, OPTIM_WRAPPERS, PARAM_SCHEDULERS)

DEFAULT_HOOKS = (
    ('runtime_info', dict(type='RuntimeInfoHook')),
    ('timer', dict(type='IterTimerHook')),
    ('sampler_seed', dict(type='DistSamplerSeedHook')),
    ('logger', dict(type='LoggerHook')),
    ('param_scheduler', dict(type='ParamSchedulerHook')),
    ('checkpoint', dict(type='CheckpointHook', interval=1)),
    # not in mmengine: a NaN loss stops training instead of silently
    # training on (see docs/reliability.md)
    ('nonfinite_loss', dict(type='NonFiniteLossHook')),
)


def _type_error(arg: str, expected: str, value: Any) -> TypeError:
    return TypeError(f'{arg} must be {expected}, but got '
                     f'{type(value).__name__}: {value!r}')


# -------------------------------------------------------------- arguments
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
_ARG_TYPES = (
    ('work_dir', (str, os.PathLike), 'a path', False),
    ('load_from', (str, os.PathLike), 'a checkpoint path or None', True),
    ('resume', bool, 'a bool', False),
    ('env_cfg', dict, 'a dict', False),
    ('randomness', dict, 'a dict', False),
    ('experiment_name', str, 'a str or None', True),
    ('custom_hooks', (list, tuple), 'a list of hooks or hook configs', True),
    ('auto_scale_lr', dict, 'a dict such as dict(enable=True, '
     'base_batch_size=16) or None', True),
)
_RANDOMNESS_KEYS = {'seed', 'diff_rank_seed', 'deterministic'}
_STAGES = (('training', ('train_dataloader', 'train_cfg', 'optim_wrapper')),
           ('validation', ('val_dataloader', 'val_cfg', 'val_evaluator')),
           ('testing', ('test_dataloader', 'test_cfg', 'test_evaluator')))


def check_runner_args(args: Dict[str, Any]) -> None:
    """Reject wrong types and incomplete stages before anything is built,
    naming the argument, what it got and what it needs."""
    for name, types, expected, optional in _ARG_TYPES:
        value = args[name]
        if not (isinstance(value, types) or optional and value is None):
            raise _type_error(f'Runner argument {name}', expected, value)
    if args['launcher'] not in LAUNCHERS:
        raise ValueError(f'Runner argument launcher must be one of '
                         f'{LAUNCHERS}, but got {args["launcher"]!r}')
    for stage, names in _STAGES:
        given = [n for n in names if args[n] is not None]
        if given and len(given) < len(names):
            missing = [n for n in names if n not in given]
            raise ValueError(
                f'{stage} needs {", ".join(names)} together: got '
                f'{", ".join(given)} but {", ".join(missing)} '
                f'{"is" if len(missing) == 1 else "are"} None')
    if args['param_scheduler'] is not None and args['optim_wrapper'] is None:
        raise ValueError('param_scheduler needs an optim_wrapper to '
                         'schedule, but optim_wrapper is None')
    check_scheduler_cfg(args['param_scheduler'])
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = args[name]
        if loader is not None and (isinstance(loader, (str, bytes)) or not (
                isinstance(loader, dict) or hasattr(loader, '__iter__'))):
            raise _type_error(f'Runner argument {name}', 'a DataLoader, a '
                              'config dict or an iterable of batches', loader)
    unknown = sorted(set(args['randomness']) - _RANDOMNESS_KEYS, key=str)
    if unknown:
        raise ValueError(f'Runner argument randomness has unknown key(s) '
                         f'{unknown}; accepted keys are '
                         f'{sorted(_RANDOMNESS_KEYS)}')


def in_context(error: Exception, context: str) -> Exception:
    """``error`` again, its message prefixed with where it happened (e.g.
    which entry of ``default_hooks``); the original is kept as the cause."""
    message = error.args[0] if len(error.args) == 1 else str(error)
    try:
        new = type(error)(f'{context}: {message}')
    except Exception:  # an exception type with another constructor
        return error
    new.__cause__ = error
    return new


# ------------------------------------------------------------------ model
def build_model(model: Union[nn.Module, Dict]) -> nn.Module:
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, dict):
        return MODELS.build(model)
    raise _type_error('model', 'an nn.Module or a config dict', model)


def _device() -> str:
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def wrap_model(model: nn.Module, model_wrapper_cfg: Optional[Any],
               distributed: bool, cfg: Any, logger: Any) -> nn.Module:
    """Move ``model`` to the device and, when distributed, wrap it in
    ``MMDistributedDataParallel`` or the wrapper ``model_wrapper_cfg``
    names (a type name alone is accepted, as in the seed document)."""
    from engine.model import MMDistributedDataParallel, is_model_wrapper
    if is_model_wrapper(model):
        if model_wrapper_cfg is not None:
            raise TypeError('the model is already wrapped, so '
                            'model_wrapper_cfg must be None, but got '
                            f'{model_wrapper_cfg!r}')
        return model
    model = model.to(_device())
    if not distributed:
        if _has_sync_bn(model):
            logger.info('Not distributed: SyncBatchNorm layers are turned '
                        'back into BatchNorm.')
            model = _revert_sync_batchnorm(model)
        return model
    if cfg.get('sync_bn') is not None:
        if cfg.get('sync_bn') != 'torch':
            raise ValueError("cfg.sync_bn must be 'torch' (the only "
                             f"SyncBatchNorm available), got {cfg.sync_bn!r}")
        import torch
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    device_ids = [int(os.environ['LOCAL_RANK'])] \
        if _device() == 'cuda' and 'LOCAL_RANK' in os.environ else None
    if model_wrapper_cfg is None:
        return MMDistributedDataParallel(
            module=model,
            device_ids=device_ids,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if isinstance(model_wrapper_cfg, str):
        model_wrapper_cfg = dict(type=model_wrapper_cfg)
    if not isinstance(model_wrapper_cfg, dict):
        raise _type_error('cfg.model_wrapper_cfg', 'a dict or a type name',
                          model_wrapper_cfg)
    wrapper_cfg = dict(model_wrapper_cfg)
    wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    wrapper_type = wrapper_cfg['type']
    if isinstance(wrapper_type, str):
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
        if wrapper_type is None:
            raise MODEL_WRAPPERS.unknown_key_error(wrapper_cfg['type'])
    from torch.nn.parallel import DistributedDataParallel
    default_args = dict(module=model)
    if isinstance(wrapper_type, type) and issubclass(
            wrapper_type, DistributedDataParallel):
        default_args['device_ids'] = device_ids
    return MODEL_WRAPPERS.build(wrapper_cfg, default_args=default_args)


def _has_sync_bn(model: nn.Module) -> bool:
    import torch
    return any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())


def _revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """SyncBatchNorm needs a process group; outside distributed training the
    equivalent BatchNorm computes the same thing."""
    import torch
    if isinstance(module, torch.nn.SyncBatchNorm):
        new = _BatchNormXd(module.num_features, module.eps, module.momentum,
                           module.affine, module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                new.weight = module.weight
                new.bias = module.bias
        new.running_mean = module.running_mean
        new.running_var = module.running_var
        new.num_batches_tracked = module.num_batches_tracked
        new.training = module.training
        return new
    for name, child in module.named_children():
        module.add_module(name, _revert_sync_batchnorm(child))
    return module


class _BatchNormXd(nn.modules.batchnorm._BatchNorm):
    """A BatchNorm for any input rank (what a SyncBatchNorm accepted)."""

    def _check_input_dim(self, input: Any) -> None:
        return


# ------------------------------------------------------------------- data
def build_dataloader(dataloader: Any,
                     seed: Optional[int] = None,
                     diff_rank_seed: bool = False) -> Any:
    """A DataLoader (returned as is) or a config built by
    :func:`engine.dataset.build_dataloader`."""
    from torch.utils.data import DataLoader
    if isinstance(dataloader, DataLoader):
        return dataloader
    if not isinstance(dataloader, dict):
        raise _type_error('dataloader', 'a DataLoader or a config dict',
                          dataloader)
    from engine.dataset import build_dataloader as build
    return build(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)


def build_evaluator(evaluator: Any) -> Any:
    from engine.evaluator import Evaluator
    if isinstance(evaluator, Evaluator):
        return evaluator
    if isinstance(evaluator, dict):
        if 'metrics' in evaluator:
            cfg = dict(evaluator)
            cfg.setdefault('type', 'Evaluator')
            return EVALUATOR.build(cfg)
        return Evaluator(evaluator)
    if isinstance(evaluator, list):
        return Evaluator(evaluator)
    raise _type_error('evaluator', 'an Evaluator, a metric config dict or a '
                      'list of them', evaluator)


# ------------------------------------------------------------------ loops
def build_train_loop(runner: Any, loop: Any) -> Any:
    """``dict(by_epoch=True, max_epochs=N)``, ``dict(by_epoch=False,
    max_iters=N)`` or ``dict(type=..., ...)``."""
    from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop
    if isinstance(loop, BaseLoop):
        return loop
    if not isinstance(loop, dict):
        raise _type_error('train_cfg', 'a dict or a loop object', loop)
    cfg = copy.deepcopy(dict(loop))
    if 'type' in cfg and 'by_epoch' in cfg:
        raise ValueError('train_cfg may hold "type" or "by_epoch" but not '
                         f'both, got {loop!r}')
    if 'type' in cfg:
        return LOOPS.build(
            cfg,
            default_args=dict(
                runner=runner, dataloader=runner._train_dataloader))
    has_epochs, has_iters = 'max_epochs' in cfg, 'max_iters' in cfg
    by_epoch = cfg.pop('by_epoch', None)
    if by_epoch is None:
        if has_epochs == has_iters:
            raise ValueError(
                'train_cfg needs by_epoch=True with max_epochs, or '
                f'by_epoch=False with max_iters, got {loop!r}')
        by_epoch = has_epochs
    needed = 'max_epochs' if by_epoch else 'max_iters'
    if needed not in cfg:
        raise ValueError(f'train_cfg with by_epoch={by_epoch!r} needs '
                         f'{needed}, got {loop!r}')
    loop_cls = EpochBasedTrainLoop if by_epoch else IterBasedTrainLoop
    try:
        return loop_cls(
            runner=runner, dataloader=runner._train_dataloader, **cfg)
    except TypeError as e:
        if 'unexpected keyword' in str(e):
            raise TypeError(f'train_cfg {loop!r}: {e}') from None
        raise


def _build_eval_loop(runner: Any, loop: Any, mode: str) -> Any:
    from .loops import BaseLoop, TestLoop, ValLoop
    if isinstance(loop, BaseLoop):
        return loop
    if not isinstance(loop, dict):
        raise _type_error(f'{mode}_cfg', 'a dict or a loop object', loop)
    cfg = copy.deepcopy(dict(loop))
    args = dict(
        runner=runner,
        dataloader=getattr(runner, f'_{mode}_dataloader'),
        evaluator=getattr(runner, f'_{mode}_evaluator'))
    if 'type' in cfg:
        return LOOPS.build(cfg, default_args=args)
    return (ValLoop if mode == 'val' else TestLoop)(**cfg, **args)


def build_val_loop(runner: Any, loop: Any) -> Any:
    return _build_eval_loop(runner, loop, 'val')


def build_test_loop(runner: Any, loop: Any) -> Any:
    return _build_eval_loop(runner, loop, 'test')


# ------------------------------------------------------------- optimizers
def build_optim_wrapper(model: nn.Module, optim_wrapper: Any) -> Any:
    """An OptimWrapper (as is), a config with ``optimizer`` or
    ``constructor``, or a dict of ready OptimWrappers (one per sub-model,
    e.g. a GAN's generator and discriminator)."""
    from torch.optim import Optimizer
    from engine.optim import OptimWrapper, OptimWrapperDict
    from engine.optim import build_optim_wrapper as build
    if isinstance(optim_wrapper, OptimWrapper):
        return optim_wrapper
    if not isinstance(optim_wrapper, dict):
        raise _type_error('optim_wrapper', 'an OptimWrapper or a config dict',
                          optim_wrapper)
    optimizer = optim_wrapper.get('optimizer')
    if isinstance(optimizer, Optimizer):
        cfg = dict(optim_wrapper)
        cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(cfg)
    if optimizer is not None or 'constructor' in optim_wrapper:
        return build(model, optim_wrapper)
    if not optim_wrapper:
        raise ValueError('optim_wrapper is an empty dict; give a config such '
                         'as dict(optimizer=dict(type="SGD", lr=0.01)), or a '
                         'dict of built OptimWrappers (one per sub-model)')
    wrappers = OrderedDict()
    for name, wrapper in optim_wrapper.items():
        if not isinstance(wrapper, OptimWrapper):
            raise ValueError(
                'optim_wrapper has neither "optimizer" nor "constructor", so '
                'each value must be a built OptimWrapper (one per sub-model), '
                f'but optim_wrapper[{name!r}] is {type(wrapper).__name__}: '
                f'{wrapper!r}')
        wrappers[name] = wrapper
    return OptimWrapperDict(**wrappers)


def scale_lr(optim_wrapper: Any, auto_scale_lr: Optional[dict],
             batch_size: int, world_size: int, logger: Any) -> None:
    """Linear scaling rule: multiply every lr by real/base batch size."""
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return
    if 'base_batch_size' not in auto_scale_lr:
        raise KeyError('auto_scale_lr needs base_batch_size, got '
                       f'{auto_scale_lr!r}')
    real_bs = world_size * batch_size
    base_bs = auto_scale_lr['base_batch_size']
    ratio = float(real_bs) / float(base_bs)
    logger.info(f'LR is set based on batch size of {base_bs} and the current '
                f'batch size is {real_bs}. Scaling the original LR by '
                f'{ratio}.')
    from engine.optim import OptimWrapperDict
    wrappers = list(optim_wrapper.values()) if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    for wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            group['lr'] = group['lr'] * ratio


def check_scheduler_cfg(param_scheduler: Any) -> None:
    """Reject a ``param_scheduler`` argument of the wrong shape early, before
    any training has happened."""
    from engine.optim.scheduler.param_scheduler import _ParamScheduler
    if param_scheduler is None or isinstance(param_scheduler,
                                             _ParamScheduler):
        return
    if isinstance(param_scheduler, (list, tuple)):
        for i, item in enumerate(param_scheduler):
            if isinstance(item, _ParamScheduler):
                continue
            if not isinstance(item, dict):
                raise _type_error(f'param_scheduler[{i}]',
                                  'a scheduler or a config dict', item)
            if 'type' not in item:
                raise ValueError(f'param_scheduler[{i}] must contain "type", '
                                 f'got {item!r}')
        return
    if isinstance(param_scheduler, dict):
        if 'type' in param_scheduler:
            return
        for key, value in param_scheduler.items():
            if not isinstance(value, (dict, list, tuple, _ParamScheduler)):
                raise _type_error(
                    f'param_scheduler[{key!r}]',
                    'a scheduler, a config dict or a list of them', value)
        return
    raise _type_error(
        'param_scheduler', 'a scheduler, a config dict, a list of them, or a '
        'dict of those per optimizer wrapper', param_scheduler)


def _build_schedulers(scheduler: Any, optim_wrapper: Any,
                      train_loop: Any, epoch_length: Optional[int]) -> list:
    from engine.optim.scheduler.param_scheduler import _ParamScheduler
    from .loops import BaseLoop
    items = scheduler if isinstance(scheduler, (list, tuple)) \
        else [scheduler]
    built = []
    for item in items:
        if isinstance(item, _ParamScheduler):
            built.append(item)
            continue
        if not isinstance(item, dict):
            raise _type_error('param_scheduler',
                              'a scheduler or a config dict', item)
        cfg = copy.deepcopy(dict(item))
        if isinstance(train_loop, BaseLoop):
            cfg.setdefault(
                'end', train_loop.max_epochs
                if cfg.get('by_epoch', True) else train_loop.max_iters)
        default_args = dict(optimizer=optim_wrapper)
        if epoch_length is not None:
            default_args['epoch_length'] = epoch_length
        built.append(PARAM_SCHEDULERS.build(cfg, default_args=default_args))
    return built


def build_param_schedulers(scheduler: Any, optim_wrapper: Any,
                           train_loop: Any,
                           epoch_length: Optional[int]) -> Any:
    """A list of schedulers for one optimizer wrapper, or a dict of lists
    (one per wrapper of an OptimWrapperDict; a dict without ``type`` gives
    each wrapper its own configs). ``end`` defaults to the length of
    training, as in mmengine."""
    from engine.optim import OptimWrapperDict
    if not isinstance(optim_wrapper, OptimWrapperDict):
        return _build_schedulers(scheduler, optim_wrapper, train_loop,
                                 epoch_length)
    per_wrapper = isinstance(scheduler, dict) and 'type' not in scheduler
    result = {}
    for name, wrapper in optim_wrapper.items():
        if per_wrapper and name not in scheduler:
            raise KeyError(f'param_scheduler has no entry for the optimizer '
                           f'wrapper {name!r}; it has {sorted(scheduler)}')
        result[name] = _build_schedulers(
            scheduler[name] if per_wrapper else scheduler, wrapper,
            train_loop, epoch_length)
    return result


def schedulers_built(schedulers: Any) -> bool:
    from engine.optim.scheduler.param_scheduler import _ParamScheduler
    if isinstance(schedulers, dict):
        return 'type' not in schedulers and any(
            schedulers_built(s) for s in schedulers.values())
    if isinstance(schedulers, (list, tuple)):
        return any(schedulers_built(s) for s in schedulers)
    return isinstance(schedulers, _ParamScheduler)


# ------------------------------------------------------------------ hooks
def default_hook_cfgs(default_hooks: Optional[Dict[str, Any]]) -> List[Any]:
    """mmengine's default hooks with the user's entries merged in by name;
    ``None`` removes a default."""
    return [hook for _, hook in default_hook_items(default_hooks)]


def default_hook_items(
        default_hooks: Optional[Dict[str, Any]]) -> List[Tuple[str, Any]]:
    """(name, hook or config) of :func:`default_hook_cfgs`."""
    if default_hooks is not None and not isinstance(default_hooks, dict):
        raise _type_error('default_hooks',
                          'a dict of name -> hook or hook config',
                          default_hooks)
    hooks = dict(DEFAULT_HOOKS)
    for name, hook in (default_hooks or {}).items():
        if hook is None:
            hooks.pop(name, None)
        else:
            hooks[name] = hook
    return list(hooks.items())


# Converters for hooks written for another API (compat registers one for
# MMCV-style hooks and their configs): each gets what build_hook was given
# and returns an engine Hook, or None when the object is not its kind.
HOOK_CONVERTERS: List[Any] = []


def build_hook(hook: Any) -> Any:
    """A Hook (as is) or a config; a ``priority`` key in the config is kept
    for the registration and not passed to the hook's constructor."""
    from engine.hooks import Hook
    if isinstance(hook, Hook):
        return hook
    for convert in HOOK_CONVERTERS:
        converted = convert(hook)
        if converted is not None:
            return converted
    if not isinstance(hook, dict):
        raise _type_error('hook', 'a Hook instance or a config dict', hook)
    cfg = dict(hook)
    priority = cfg.pop('priority', None)
    obj = HOOKS.build(cfg)
    if priority is not None:
        obj.priority = priority
    return obj


def build_log_processor(log_processor: Any) -> Any:
    from engine.logging import LogProcessor
    if isinstance(log_processor, LogProcessor):
        return log_processor
    if not isinstance(log_processor, dict):
        raise _type_error('log_processor', 'a LogProcessor or a config dict',
                          log_processor)
    cfg = copy.deepcopy(dict(log_processor))
    if 'type' in cfg:
        return LOG_PROCESSORS.build(cfg)
    return LogProcessor(**cfg)


def batch_size_of(dataloader: Any) -> int:
    """Per-process batch size of a DataLoader or a dataloader config."""
    if isinstance(dataloader, dict):
        if 'batch_size' in dataloader:
            return dataloader['batch_size']
        sampler = dataloader.get('batch_sampler') or {}
        if 'batch_size' in sampler:
            return sampler['batch_size']
        raise ValueError('the train_dataloader config sets no batch_size '
                         '(neither directly nor in batch_sampler)')
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if batch_sampler is not None and hasattr(batch_sampler, 'batch_size'):
        return batch_sampler.batch_size
    return getattr(dataloader, 'batch_size', 1) or 1


def visualizer_from(visualizer: Any, logger: Any) -> Any:
    """The engine writes scalars itself (LoggerHook's JSON-lines log), so a
    visualizer is optional: an object with ``add_scalars`` is used as is; a
    config naming only the local backend is what the engine already does."""
    if visualizer is None or hasattr(visualizer, 'add_scalars'):
        return visualizer
    if not isinstance(visualizer, dict):
        raise _type_error('visualizer', 'None, a visualizer object or a '
                          'config dict', visualizer)
    backends = [b.get('type') if isinstance(b, dict) else type(b).__name__
                for b in visualizer.get('vis_backends', [])]
    others = [b for b in backends if b != 'LocalVisBackend']
    if others:
        logger.warning(
            f'visualizer backends {others} are not available in this engine; '
            'scalars are written to <log_dir>/vis_data/scalars.json only')
    return None


def runtime_env_text(env_cfg: dict, randomness: dict, seed: int,
                     launcher: str, world_size: int) -> str:
    """The start-up summary of the run's environment (mmengine also probes
    compilers and CUDA versions, which costs seconds; we do not)."""
    lines = [f'{k}: {v}' for k, v in env_cfg.items()]
    lines += [f'{k}: {v}' for k, v in randomness.items() if k != 'seed']
    lines += [f'seed: {seed}', f'Distributed launcher: {launcher}',
              f'Distributed training: {launcher != "none"}',
              f'GPU number: {world_size}']
    dash = '-' * 60
    return (f'\n{dash}\nRuntime environment:\n    ' + '\n    '.join(lines) +
            f'\n{dash}\n')
