"""``lr_config`` / ``momentum_config`` -> engine parameter schedulers.

mmcv's updater hooks compute every value in closed form; the engine's
``ClosedFormLR`` / ``ClosedFormMomentum`` evaluate the same functions
(``engine.optim.scheduler.closed_form``) once per iteration, so the
translated schedule equals the old one at every iteration, for every policy
and warm-up kind. (Chaining mmengine's LinearLR / PolyLR / ExponentialLR
instead drifts: they count ``end - begin - 1`` steps and compound
multiplicatively; :func:`measure_lr_difference` shows by how much.)

The runner kind matters because mmcv's defaults differ: an IterBasedRunner
sets ``by_epoch=False`` on ``lr_config`` (not on ``momentum_config``).
"""
import copy
from typing import Any, List, Optional, Sequence

import torch

from engine.optim import OptimWrapper
from engine.optim.scheduler.closed_form import (lr_schedule,
                                                momentum_schedule)
from engine.registry import PARAM_SCHEDULERS

__all__ = ['translate_schedule', 'measure_lr_difference', 'dict_valued_keys']

_SCHEDULER_TYPES = {'lr': 'ClosedFormLR', 'momentum': 'ClosedFormMomentum'}


def translate_schedule(kind: str, field: str, cfg: Any,
                       by_epoch_runner: bool) -> dict:
    """The scheduler config reproducing an mmcv ``lr_config`` (``kind='lr'``)
    or ``momentum_config`` (``kind='momentum'``).

    Raises:
        TypeError / KeyError / ValueError naming ``field``: not a dict, no
            ``policy``, or an invalid policy or option.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'{field} must be a dict with a "policy" (or None), '
                        f'got {type(cfg).__name__}: {cfg!r}')
    if 'policy' not in cfg:
        raise KeyError(f'{field} needs a "policy" such as "step" or '
                       f'"CosineAnnealing", got keys {sorted(cfg)}')
    policy_cfg = copy.deepcopy(dict(cfg))
    if not by_epoch_runner and kind == 'lr':
        policy_cfg.setdefault('by_epoch', False)
    compile_ = lr_schedule if kind == 'lr' else momentum_schedule
    try:
        schedule = compile_(policy_cfg)
    except (TypeError, ValueError, KeyError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise type(exc)(f'{field}: {message}') from None
    sched = dict(type=_SCHEDULER_TYPES[kind], policy_cfg=policy_cfg)
    if by_epoch_runner and schedule.by_epoch and schedule.warmup is None:
        # one value per epoch: stepped at epoch ends, nothing per iteration
        sched['by_epoch'] = True
    elif by_epoch_runner:
        sched['convert_to_iter_based'] = True
    else:
        sched['by_epoch'] = False
    return sched


def dict_valued_keys(policy_cfgs: Sequence[dict]) -> List[str]:
    """Optimizer names used as keys of per-optimizer policy options
    (OneCycle's ``max_lr=dict(generator=..., discriminator=...)``)."""
    names: List[str] = []
    for cfg in policy_cfgs:
        for value in cfg.values():
            if isinstance(value, dict):
                names.extend(k for k in value if k not in names)
    return names


def _scheduler_values(sched_cfgs: Sequence[dict], kind: str, base: float,
                      by_epoch_runner: bool, total_iters: int,
                      max_epochs: Optional[int],
                      epoch_length: int) -> List[float]:
    """The value the first group has before each iteration when the
    runner's ParamSchedulerHook drives ``sched_cfgs``."""
    param = torch.nn.Parameter(torch.zeros(1))
    if kind == 'lr':
        optimizer = torch.optim.SGD([param], lr=base, momentum=0.9)
    else:
        optimizer = torch.optim.SGD([param], lr=0.1, momentum=base)
    wrapper = OptimWrapper(optimizer)
    # the runner's defaults: `end` is the length of training in the
    # scheduler's unit (an iteration loop counts as one epoch)
    loop_epochs = max_epochs if by_epoch_runner else 1
    schedulers = []
    for cfg in sched_cfgs:
        cfg = copy.deepcopy(cfg)
        cfg.setdefault('end', loop_epochs if cfg.get('by_epoch', True) else
                       total_iters)
        schedulers.append(
            PARAM_SCHEDULERS.build(
                cfg,
                default_args=dict(optimizer=wrapper,
                                  epoch_length=epoch_length)))
    key = 'lr' if kind == 'lr' else 'momentum'
    values = []
    for it in range(total_iters):
        values.append(optimizer.param_groups[0][key])
        for s in schedulers:
            if not s.by_epoch:
                s.step()
        if by_epoch_runner and (it + 1) % epoch_length == 0:
            for s in schedulers:
                if s.by_epoch:
                    s.step()
    return values


def measure_lr_difference(kind: str,
                          old_cfg: dict,
                          sched_cfgs: Sequence[dict],
                          by_epoch_runner: bool,
                          epoch_length: int,
                          max_epochs: Optional[int] = None,
                          max_iters: Optional[int] = None,
                          base: float = 0.1) -> float:
    """Largest difference, over every iteration of the run, between the
    value mmcv's hook sets (closed form, its exact float operations) and the
    one the engine schedulers ``sched_cfgs`` set, relative to the group's
    initial value ``base`` (0.0 means bitwise equal everywhere)."""
    if by_epoch_runner:
        if max_epochs is None:
            raise ValueError('measuring an epoch-based schedule needs '
                             'max_epochs')
        total = max_epochs * epoch_length
    else:
        if max_iters is None:
            raise ValueError('measuring an iteration-based schedule needs '
                             'max_iters')
        total = max_iters
        max_epochs = None
    policy = copy.deepcopy(old_cfg)
    if not by_epoch_runner and kind == 'lr':
        policy.setdefault('by_epoch', False)
    schedule = (lr_schedule if kind == 'lr' else momentum_schedule)(policy)
    first_base = schedule.base_values([base])[0]
    got = _scheduler_values(sched_cfgs, kind, base, by_epoch_runner, total,
                            max_epochs, epoch_length)
    scale = abs(base) or 1.0
    worst = 0.0
    for it, value in enumerate(got):
        expected = schedule.value(first_base, it // epoch_length, it,
                                  max_epochs, total, epoch_length)
        if expected != value:
            worst = max(worst, abs(value - expected) / scale)
    return worst
