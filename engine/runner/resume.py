"""What an engine checkpoint holds, and how resuming puts it back.

Layout (mmengine's, plus what exact resumption needs)::

    meta:             epoch, iter (iterations done), seed, experiment_name,
                      time, cfg, dataset_meta, rng (python/numpy/torch/cuda
                      generator states), train_loop (data position: pass,
                      batches served, generator states at the pass start,
                      and whether it was saved during validation)
    state_dict:       model weights (wrappers unwrapped, on the CPU)
    message_hub:      logged scalars and runtime info, plain data
    optimizer:        the optimizer wrapper's state (AMP loss scaler included)
    param_schedulers: a list, or a dict of lists per optimizer wrapper
    pending_grads:    only when saved inside a gradient-accumulation window:
                      the gradients accumulated so far, by parameter name

Everything is stored as types that ``torch.load(weights_only=True)`` reads.
A checkpoint without the extra keys (an older or converted one) resumes as
mmengine would: weights, optimizer, schedulers and counters only.
"""
import pickle
import time
from typing import Any, Dict, List

import torch

from .checkpoint import get_state_dict, weights_to_cpu
from .randomness import get_rng_state, set_rng_state


def _unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    from engine.model import is_model_wrapper
    while is_model_wrapper(model):
        model = model.module
    return model


def _to_cpu(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.cpu()
    if isinstance(data, dict):
        out = type(data)()
        for key, value in data.items():
            out[key] = _to_cpu(value)
        return out
    if isinstance(data, list):
        return [_to_cpu(v) for v in data]
    if isinstance(data, tuple) and not hasattr(data, '_fields'):
        return tuple(_to_cpu(v) for v in data)
    return data


def _safe_meta(value: Any, where: str, logger: Any) -> Any:
    """Dataset meta may hold numpy arrays or arbitrary objects; store what a
    safe load can read, and say what had to be turned into text."""
    from engine.logging.message_hub import UnsafeValueError, to_safe
    try:
        return to_safe(value, where)
    except UnsafeValueError as e:
        logger.warning(f'{e}; it is stored as its repr() in the checkpoint')
        return repr(value)


def _pending_grads(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """Gradients accumulated but not yet applied (a checkpoint saved in the
    middle of an accumulation window); empty after a completed step, because
    ``zero_grad`` sets gradients to None."""
    return {
        name: p.grad.detach().cpu()
        for name, p in _unwrapped(model).named_parameters()
        if p.grad is not None
    }


def _scheduler_states(schedulers: Any) -> Any:
    if isinstance(schedulers, dict):
        return {name: [s.state_dict() for s in group]
                for name, group in schedulers.items()}
    return [s.state_dict() for s in schedulers]


def build_checkpoint(runner: Any,
                     meta: Dict,
                     save_optimizer: bool = True,
                     save_param_scheduler: bool = True) -> Dict:
    """The checkpoint dict for the runner's current state; ``meta`` already
    carries epoch and iter."""
    from engine.optim import OptimWrapper
    meta.update(
        cfg=runner.cfg.pretty_text if runner.cfg else '',
        seed=runner.seed,
        experiment_name=runner.experiment_name,
        time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
        rng=get_rng_state())
    loop = runner._train_loop
    if hasattr(loop, 'state_dict'):
        meta['train_loop'] = loop.state_dict()
        dataset = getattr(loop.dataloader, 'dataset', None)
        if hasattr(dataset, 'metainfo'):
            meta['dataset_meta'] = _safe_meta(dataset.metainfo,
                                              'dataset_meta', runner.logger)
    checkpoint = {
        'meta': meta,
        'state_dict': weights_to_cpu(get_state_dict(runner.model)),
        'message_hub': _to_cpu(runner.message_hub.state_dict()),
    }
    if save_optimizer:
        if not isinstance(runner.optim_wrapper, OptimWrapper):
            raise TypeError(
                'save_optimizer=True needs runner.optim_wrapper to be an '
                'OptimWrapper or OptimWrapperDict, but it is '
                f'{type(runner.optim_wrapper).__name__}')
        checkpoint['optimizer'] = _to_cpu(runner.optim_wrapper.state_dict())
        grads = _pending_grads(runner.model)
        if grads:
            checkpoint['pending_grads'] = grads
    if save_param_scheduler and runner.param_schedulers is None:
        runner.logger.warning(
            'save_param_scheduler=True but the runner has no parameter '
            'schedulers; none are saved')
        save_param_scheduler = False
    if save_param_scheduler:
        checkpoint['param_schedulers'] = _scheduler_states(
            runner.param_schedulers)
    return checkpoint


# --------------------------------------------------------------- restoring
_DYNAMIC_SCHEDULER_KEYS = ('last_step', )


def _schedule_differences(config_state: dict, saved_state: dict) -> List[str]:
    """The settings (not the progress) in which two scheduler states
    differ."""
    keys = sorted(set(config_state) | set(saved_state))
    return [
        key for key in keys
        if not key.startswith('_') and key not in _DYNAMIC_SCHEDULER_KEYS
        and not _same(config_state.get(key), saved_state.get(key))
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(
            b, torch.Tensor) and a.shape == b.shape and bool((a == b).all())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return False


def _load_schedulers(schedulers: list, states: list, label: str,
                     logger: Any) -> None:
    """Restore saved scheduler states over the config's schedulers, as
    mmengine does, but warn when the config changed the schedule: that
    change is ignored for the rest of this run."""
    if len(states) != len(schedulers):
        logger.warning(
            f'The checkpoint holds {len(states)} parameter scheduler(s){label}'
            f' but the config builds {len(schedulers)}; only the first '
            f'{min(len(states), len(schedulers))} are restored.')
    for scheduler, state in zip(schedulers, states):
        changed = _schedule_differences(scheduler.state_dict(), state)
        if changed:
            logger.warning(
                f'{type(scheduler).__name__}{label}: the config sets '
                f'{", ".join(changed)} differently from the checkpoint. As '
                'in mmengine, the saved schedule is restored and the config '
                'change is ignored; start a new run (load_from instead of '
                'resume) to use the new schedule.')
        scheduler.load_state_dict(state)


def restore_checkpoint(runner: Any,
                       checkpoint: Dict,
                       resume_optimizer: bool = True,
                       resume_param_scheduler: bool = True) -> bool:
    """Put the training state of ``checkpoint`` (weights already loaded)
    back into ``runner``; True when gradients of an unfinished accumulation
    window were restored."""
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict) or 'epoch' not in meta or \
            'iter' not in meta:
        raise KeyError('cannot resume: the checkpoint has no meta with epoch '
                       'and iter (it holds only weights); use load_from to '
                       'start from its weights instead')
    logger = runner.logger
    loop = runner.train_loop
    loop._epoch = meta['epoch']
    loop._iter = meta['iter']

    resumed_seed = meta.get('seed')
    current_seed = runner._randomness_cfg.get('seed')
    if resumed_seed is not None and resumed_seed != current_seed:
        if current_seed is not None:
            logger.warning(f'The random seed in the checkpoint '
                           f'({resumed_seed}) differs from randomness.seed '
                           f'({current_seed}); using the checkpoint\'s.')
        runner._randomness_cfg.update(seed=resumed_seed)
        runner.set_randomness(**runner._randomness_cfg)

    dataset = getattr(loop.dataloader, 'dataset', None)
    if 'dataset_meta' in meta or hasattr(dataset, 'metainfo'):
        current = getattr(dataset, 'metainfo', None)
        if current is not None:
            current = _safe_meta(current, 'dataset_meta', logger)
        if pickle.dumps(meta.get('dataset_meta')) != pickle.dumps(current):
            logger.warning('The dataset metainfo of the checkpoint differs '
                           'from the current training dataset; check that '
                           'both are the ones you mean.')

    if 'message_hub' in checkpoint:
        runner.message_hub.load_state_dict(checkpoint['message_hub'])

    grads_restored = False
    if 'optimizer' in checkpoint and resume_optimizer:
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        runner.optim_wrapper.load_state_dict(checkpoint['optimizer'])
        grads_restored = _restore_grads(runner.model,
                                        checkpoint.get('pending_grads', {}))

    if runner.param_schedulers is None and resume_param_scheduler and \
            'param_schedulers' in checkpoint:
        logger.warning('resume_param_scheduler=True but the runner has no '
                       'parameter schedulers; the saved ones are ignored')
    elif 'param_schedulers' in checkpoint and resume_param_scheduler:
        runner.param_schedulers = runner.build_param_scheduler(
            runner.param_schedulers)
        saved = checkpoint['param_schedulers']
        if isinstance(runner.param_schedulers, dict):
            for name, group in runner.param_schedulers.items():
                _load_schedulers(group, saved.get(name, []), f' ({name})',
                                 logger)
        else:
            _load_schedulers(runner.param_schedulers, saved, '', logger)

    rng = meta.get('rng')
    if rng is not None and runner.world_size > 1 and \
            runner._randomness_cfg.get('diff_rank_seed', False):
        logger.warning('diff_rank_seed=True: the checkpoint holds rank 0\'s '
                       'generator states only, so they are not restored')
        rng = None
    position = dict(meta.get('train_loop') or {}, rng=rng)
    if hasattr(loop, 'load_state_dict'):
        loop.load_state_dict(position)
    elif rng is not None:
        set_rng_state(rng)
    logger.info(f'resumed epoch: {runner.epoch}, iter: {runner.iter}')
    return grads_restored


def _restore_grads(model: torch.nn.Module,
                   grads: Dict[str, torch.Tensor]) -> bool:
    if not grads:
        return False
    params = dict(_unwrapped(model).named_parameters())
    unknown = sorted(set(grads) - set(params))
    if unknown:
        raise KeyError('the checkpoint holds accumulated gradients for '
                       f'parameters the model does not have: {unknown}')
    for name, grad in grads.items():
        param = params[name]
        param.grad = grad.to(device=param.device, dtype=param.dtype)
    return True
