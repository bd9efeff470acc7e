"""Checkpoints across the two layouts: legacy (mmcv) and engine (mmengine).

A legacy checkpoint holds ``meta`` (epoch, iter, mmcv_version, time,
hook_msgs, sometimes fp16 loss-scaler state), ``state_dict`` and
``optimizer``. An engine checkpoint adds ``message_hub`` and
``param_schedulers`` and counts iterations differently for iteration-based
runs: mmcv's IterBasedRunner saves ``iter`` *before* incrementing it (a file
named ``iter_8.pth`` says ``iter=7``), the engine saves the number of
iterations done. Epoch-based checkpoints mean the same in both.

Two ways in:

- :func:`legacy_to_engine` / :func:`engine_to_legacy` convert a loaded dict
  (the ``upgrade-checkpoint`` command and ``legacy.Runner`` use them);
- :class:`LegacyCheckpointHook`, an engine hook, converts a legacy checkpoint
  in place while ``engine.runner.Runner`` loads it (its
  ``after_load_checkpoint`` stage runs before the runner reads ``meta``), and
  rebuilds the scheduler state an old file lacks by replaying the runner's
  own schedulers on a scratch copy of the parameter groups, so the resumed
  learning rate is the one an uninterrupted run would use.
  ``compat.migrate_config`` adds this hook to ``custom_hooks``.
"""
import copy
import os
import re
from typing import Any, List, Optional, Sequence

from engine.hooks import Hook
from engine.registry import HOOKS
from engine.runner.checkpoint import load_checkpoint_file, save_checkpoint
from .runner_info import runner_by_epoch

__all__ = [
    'is_legacy_checkpoint', 'legacy_to_engine', 'engine_to_legacy',
    'load_legacy_checkpoint', 'upgrade_checkpoint_file',
    'LegacyCheckpointHook', 'synthesise_scheduler_state'
]

# mmcv's hook_msgs and the message-hub runtime keys mmengine's CheckpointHook
# keeps the same information under.
_HOOK_MSG_KEYS = ('best_score', 'best_ckpt', 'last_ckpt')
_ITER_FILE = re.compile(r'iter_(\d+)\.pth$')
# engine meta entries with no meaning for a legacy runner
_ENGINE_ONLY_META = ('rng', 'train_loop', 'dataset_meta')


def is_legacy_checkpoint(checkpoint: Any) -> bool:
    """A full checkpoint (has ``state_dict``) without the engine's
    ``message_hub``: one saved by mmcv or by ``legacy``."""
    return (isinstance(checkpoint, dict) and 'state_dict' in checkpoint
            and 'message_hub' not in checkpoint)


def _safe(value: Any) -> Any:
    """Plain Python of numpy values, so the converted file loads with
    ``weights_only=True`` (mmcv stored numpy scores in ``hook_msgs``)."""
    if hasattr(value, 'tolist') and type(value).__module__ == 'numpy':
        return value.tolist()
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_safe(v) for v in value)
    return value


def _check_meta(checkpoint: dict, what: str) -> dict:
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict):
        raise KeyError(f'{what} has no "meta" dict (got '
                       f'{type(meta).__name__}); it is a bare state dict or '
                       'not a training checkpoint, so it can only be loaded '
                       'as weights (load_from), not resumed')
    for key in ('epoch', 'iter'):
        if not isinstance(meta.get(key), int):
            raise KeyError(f'{what} meta needs an int {key!r}, got '
                           f'{meta.get(key)!r}')
    return meta


def legacy_to_engine(checkpoint: dict, by_epoch: bool = True) -> dict:
    """The engine-layout equivalent of a legacy checkpoint (a new dict; the
    tensors are shared, not copied).

    Args:
        checkpoint: a loaded legacy checkpoint.
        by_epoch: whether it was saved by an epoch-based runner. Saved by an
            IterBasedRunner (``by_epoch=False``), its ``iter`` is one behind
            the iterations done; it is corrected, and ``epoch`` becomes 0 as
            the engine's iteration loop counts (mmcv's value is kept in
            ``meta['compat']`` for :func:`engine_to_legacy`).

    The result has an empty ``message_hub`` carrying mmcv's ``hook_msgs``
    (best score, best and last checkpoint) as runtime information, and no
    ``param_schedulers`` (:class:`LegacyCheckpointHook` rebuilds those from
    the runner's schedulers on resume).
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'a checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    meta = dict(_check_meta(checkpoint, 'the legacy checkpoint'))
    meta['compat'] = dict(source='legacy', by_epoch=bool(by_epoch))
    if not by_epoch:
        # the engine's iteration loop counts the whole run as epoch 0;
        # mmcv's epoch (passes over the data + 1) is kept for the way back
        meta['compat']['legacy_epoch'] = meta['epoch']
        meta['iter'] = meta['iter'] + 1
        meta['epoch'] = 0
    hook_msgs = meta.pop('hook_msgs', None) or {}
    fp16 = meta.pop('fp16', None)
    runtime_info = {k: hook_msgs[k] for k in _HOOK_MSG_KEYS if k in hook_msgs}
    runtime_info.update(epoch=meta['epoch'], iter=meta['iter'])
    out = {k: v for k, v in checkpoint.items() if k != 'meta'}
    out['meta'] = _safe(meta)
    out['message_hub'] = dict(
        log_scalars={},
        runtime_info=_safe(runtime_info),
        resumed_keys={k: True for k in runtime_info})
    if isinstance(fp16, dict) and 'loss_scaler' in fp16 and isinstance(
            out.get('optimizer'), dict):
        # mmcv's Fp16OptimizerHook kept the scaler in meta; the engine's
        # AmpOptimWrapper keeps it in its own state.
        out['optimizer'] = dict(out['optimizer'],
                                loss_scaler=fp16['loss_scaler'])
    return out


def engine_to_legacy(checkpoint: dict, by_epoch: bool = True) -> dict:
    """The legacy-layout equivalent of an engine checkpoint (a new dict).

    ``by_epoch=False`` writes mmcv's IterBasedRunner counters (``iter`` one
    behind the iterations done, ``epoch`` one ahead), so ``legacy``'s resume
    treats it exactly like a file it saved itself. The message hub's best
    score and checkpoint paths go to ``meta['hook_msgs']`` and an AMP loss
    scaler to ``meta['fp16']``, where mmcv's hooks look for them. The
    engine's resume state in ``meta`` (generator states, data position) is
    left out, as mmcv's loggers write ``meta`` to JSON; the engine-only
    top-level entries are kept (a legacy runner ignores them).
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'a checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    meta = dict(_check_meta(checkpoint, 'the engine checkpoint'))
    compat_meta = meta.pop('compat', None) or {}
    # mmcv's hooks dump meta into their JSON logs: leave out the engine's
    # resume state (generator states and data position, as tensors)
    for key in _ENGINE_ONLY_META:
        meta.pop(key, None)
    if 'experiment_name' in meta:
        meta.setdefault('exp_name', meta.pop('experiment_name'))
    if not by_epoch:
        meta['iter'] = max(meta['iter'] - 1, 0)
        meta['epoch'] = compat_meta.get('legacy_epoch', meta['epoch'] + 1)
    hub = checkpoint.get('message_hub')
    info = hub.get('runtime_info', {}) if isinstance(hub, dict) else {}
    hook_msgs = {k: info[k] for k in _HOOK_MSG_KEYS if k in info}
    if hook_msgs:
        meta['hook_msgs'] = dict(meta.get('hook_msgs') or {}, **hook_msgs)
    out = dict(checkpoint)
    optimizer = out.get('optimizer')
    if isinstance(optimizer, dict) and 'loss_scaler' in optimizer:
        optimizer = dict(optimizer)
        meta['fp16'] = dict(loss_scaler=optimizer.pop('loss_scaler'))
        out['optimizer'] = optimizer
    out['meta'] = meta
    return out


def infer_by_epoch(checkpoint: dict, filename: Optional[str] = None) -> bool:
    """Guess the runner kind of a legacy checkpoint: mmcv's IterBasedRunner
    names its files ``iter_{iter + 1}.pth``; anything else is taken as
    epoch-based."""
    meta = checkpoint.get('meta') or {}
    compat_meta = meta.get('compat')
    if isinstance(compat_meta, dict) and 'by_epoch' in compat_meta:
        return bool(compat_meta['by_epoch'])
    match = _ITER_FILE.search(os.path.basename(filename or ''))
    if match and isinstance(meta.get('iter'), int):
        return int(match.group(1)) != meta['iter'] + 1
    return True


def load_legacy_checkpoint(filename: str,
                           map_location: Any = 'cpu',
                           weights_only: bool = True) -> dict:
    """Read a legacy checkpoint file, safely unless told otherwise.

    Files written by the real mmcv may hold numpy values (an evaluation
    score in ``meta``) that a safe load refuses; the error then says so, and
    ``weights_only=False`` reads them if the file is trusted.
    """
    checkpoint = load_checkpoint_file(
        filename, map_location=map_location, weights_only=weights_only)
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{filename} holds a {type(checkpoint).__name__}, '
                        'not a checkpoint dict')
    return checkpoint


def upgrade_checkpoint_file(src: str,
                            dst: str,
                            by_epoch: Optional[bool] = None,
                            weights_only: bool = True) -> dict:
    """Convert the legacy checkpoint ``src`` to the engine layout in ``dst``
    (written atomically; numpy values become plain Python so ``dst`` loads
    with ``weights_only=True``). Returns the converted meta."""
    checkpoint = load_legacy_checkpoint(src, weights_only=weights_only)
    if not is_legacy_checkpoint(checkpoint):
        raise ValueError(
            f'{src} is not a legacy checkpoint: it has '
            f'{"a message_hub" if "message_hub" in checkpoint else "no state_dict"}'
            f' (keys: {sorted(checkpoint)})')
    if by_epoch is None:
        by_epoch = infer_by_epoch(checkpoint, src)
    converted = legacy_to_engine(checkpoint, by_epoch=by_epoch)
    save_checkpoint(converted, dst)
    return converted['meta']


# ---------------------------------------------------------------- on resume
class _ScratchOptimizer:
    """Stands in for an optimizer while schedulers are replayed: it has the
    parameter groups' hyper-parameters but no parameters or state."""

    def __init__(self, param_groups: Sequence[dict]):
        self.param_groups = [{k: copy.deepcopy(v)
                              for k, v in g.items() if k != 'params'}
                             for g in param_groups]


def _replay(schedulers: Sequence[Any], param_groups: Sequence[dict],
            iters_done: int, epochs_done: int,
            epoch_length: Optional[int]) -> tuple:
    """Step copies of ``schedulers`` (sharing one scratch optimizer) as the
    engine's ParamSchedulerHook would have, and return their states and the
    resulting parameter-group values."""
    scratch = _ScratchOptimizer(param_groups)
    copies = []
    for scheduler in schedulers:
        clone = copy.copy(scheduler)
        clone.__dict__ = {
            k: (scratch if k == 'optimizer' else copy.deepcopy(v))
            for k, v in scheduler.__dict__.items()
        }
        copies.append(clone)
    by_iter = [s for s in copies if not getattr(s, 'by_epoch', True)]
    by_epoch = [s for s in copies if getattr(s, 'by_epoch', True)]
    epochs_stepped = 0
    for i in range(iters_done):
        for s in by_iter:
            s.step()
        if epoch_length and (i + 1) % epoch_length == 0 and \
                epochs_stepped < epochs_done:
            for s in by_epoch:
                s.step()
            epochs_stepped += 1
    while epochs_stepped < epochs_done:  # epoch-based without a known length
        for s in by_epoch:
            s.step()
        epochs_stepped += 1
    states = [{k: v for k, v in s.state_dict().items()} for s in copies]
    return states, scratch.param_groups


def _patch_groups(saved_groups: List[dict], replayed: List[dict],
                  keys: set) -> None:
    for saved, new in zip(saved_groups, replayed):
        for key in keys:
            if key in new:
                saved[key] = new[key]


def synthesise_scheduler_state(runner, checkpoint: dict,
                               by_epoch: bool = True) -> None:
    """Give a converted checkpoint the ``param_schedulers`` state and
    optimizer hyper-parameters that the runner's schedulers would have after
    ``meta['epoch']`` epochs / ``meta['iter']`` iterations.

    Epoch-based schedulers are stepped at each epoch end of an epoch-based
    run only (an iteration-based loop never steps them while training).
    Nothing on the runner is changed: the replay runs on copies.
    """
    schedulers = getattr(runner, 'param_schedulers', None)
    if not isinstance(schedulers, (list, dict)) or not schedulers:
        return
    meta = checkpoint['meta']
    epoch_length = None
    try:
        epoch_length = len(runner.train_dataloader)
    except (TypeError, AttributeError, RuntimeError):
        pass
    optim_wrapper = runner.optim_wrapper
    optimizer_state = checkpoint.get('optimizer')

    def one(name: Optional[str], scheds: list, wrapper) -> Optional[list]:
        if not scheds or not all(hasattr(s, 'state_dict') for s in scheds):
            return None
        groups = wrapper.param_groups
        states, replayed = _replay(scheds, groups, meta['iter'],
                                   meta['epoch'] if by_epoch else 0,
                                   epoch_length if by_epoch else None)
        keys = set()
        for s in scheds:
            param = getattr(s, 'param_name', 'lr')
            keys.update({param, f'initial_{param}'})
            if param == 'momentum':
                keys.add('betas')
        target = optimizer_state.get(name) if name is not None and \
            isinstance(optimizer_state, dict) else optimizer_state
        if isinstance(target, dict) and 'param_groups' in target:
            _patch_groups(target['param_groups'], replayed, keys)
        return states

    if isinstance(schedulers, dict):
        result = {}
        for name, scheds in schedulers.items():
            states = one(name, scheds, optim_wrapper[name])
            if states is None:
                return
            result[name] = states
        checkpoint['param_schedulers'] = result
    else:
        states = one(None, schedulers, optim_wrapper)
        if states is not None:
            checkpoint['param_schedulers'] = states


@HOOKS.register_module()
class LegacyCheckpointHook(Hook):
    """Lets ``engine.runner.Runner`` load and resume legacy checkpoints.

    When the runner reads a checkpoint without a ``message_hub`` (saved by
    mmcv 1.x or ``legacy``), this hook converts it in place to the engine
    layout (see :func:`legacy_to_engine`; the runner kind is taken from the
    runner's train loop) and, if the runner has parameter schedulers,
    synthesises their state for the checkpoint's epoch/iteration. Engine
    checkpoints pass through untouched.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_legacy_checkpoint(checkpoint):
            return
        meta = checkpoint.get('meta')
        if not (isinstance(meta, dict) and isinstance(meta.get('epoch'), int)
                and isinstance(meta.get('iter'), int)):
            return  # weights only: nothing to resume, load_from still works
        by_epoch = runner_by_epoch(runner)
        converted = legacy_to_engine(checkpoint, by_epoch=by_epoch)
        synthesise_scheduler_state(runner, converted, by_epoch)
        checkpoint.clear()
        checkpoint.update(converted)
        logger = getattr(runner, 'logger', None)
        if logger is not None:
            logger.info(
                'Converted a legacy (mmcv-layout) checkpoint: epoch '
                f"{converted['meta']['epoch']}, iter "
                f"{converted['meta']['iter']}")
