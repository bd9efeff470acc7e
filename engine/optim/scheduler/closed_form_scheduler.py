"""Engine schedulers that replay an mmcv ``lr_config`` / ``momentum_config``.

``ClosedFormLR`` and ``ClosedFormMomentum`` step every iteration and write
the value mmcv's updater hook would have set for the coming iteration,
computed by :mod:`.closed_form`. They are what ``compat.migrate_config``
translates old schedules to, so that a migrated run follows the old learning
rate exactly (mmengine's chained schedulers drift from mmcv's closed forms).

Typical configs (the runner fills ``optimizer``, ``end`` and, with
``convert_to_iter_based``, ``epoch_length``)::

    # an EpochBasedRunner schedule: epochs are converted to iterations
    dict(type='ClosedFormLR', convert_to_iter_based=True,
         policy_cfg=dict(policy='step', step=[2, 3], warmup='linear',
                         warmup_iters=500))
    # an IterBasedRunner schedule
    dict(type='ClosedFormLR', by_epoch=False,
         policy_cfg=dict(policy='poly', power=0.9, by_epoch=False))

Inside ``policy_cfg``, ``by_epoch`` is mmcv's policy option (the value
changes at epoch starts); the scheduler itself always steps per iteration.
"""
from typing import Any, Callable, Mapping, Optional

from engine.registry import PARAM_SCHEDULERS
from ..base import BaseOptimWrapper
from .closed_form import LR, Schedule, lr_schedule, momentum_schedule
from .lr_scheduler import LRSchedulerMixin
from .momentum_scheduler import MomentumSchedulerMixin
from .param_scheduler import (INF, OptimizerType, _init_base_values,
                              _ParamScheduler, check_epoch_conversion)


def _plain(obj: Any) -> Any:
    """Config containers as plain dicts/lists, so that the scheduler state
    loads with ``torch.load(weights_only=True)``."""
    if isinstance(obj, Mapping):
        return {key: _plain(value) for key, value in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_plain(value) for value in obj)
    if isinstance(obj, list):
        return [_plain(value) for value in obj]
    return obj


class _ClosedFormScheduler(_ParamScheduler):
    """Per-iteration scheduler evaluating an mmcv policy in closed form.

    Args:
        optimizer: optimizer or optimizer wrapper.
        param_name: 'lr' or 'momentum' (set by the subclasses).
        policy_cfg: the mmcv ``lr_config`` / ``momentum_config`` dict.
        max_iters: the run's iterations (default: ``end``).
        max_epochs: the run's epochs (default: ``max_iters // epoch_length``
            when that divides exactly); needed by epoch-based policies.
        epoch_length: iterations per epoch; needed by ``by_epoch`` policies
            and ``warmup_by_epoch``.
        optimizer_name: key of per-optimizer dicts in the policy (OneCycle's
            ``max_lr``...); default: the optimizer class name, as mmcv.
        begin, end, last_step, verbose: as for every scheduler.
        by_epoch: False (the scheduler steps every iteration; use
            ``convert_to_iter_based=True`` for an epoch-based run), or True
            for an epoch-based policy without warm-up, whose value only
            changes from one epoch to the next: it then steps at epoch ends,
            like mmcv's hook, and costs nothing per iteration.
    """

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 policy_cfg: Mapping,
                 max_iters: Optional[int] = None,
                 max_epochs: Optional[int] = None,
                 epoch_length: Optional[int] = None,
                 optimizer_name: Optional[str] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = False,
                 verbose: bool = False):
        self._schedule = self._compile(policy_cfg)
        self.policy_cfg = _plain(policy_cfg)
        if by_epoch:
            # Stepping at epoch ends is exact only where the value cannot
            # change inside an epoch: an epoch-based policy, no warm-up.
            if not self._schedule.by_epoch or \
                    self._schedule.warmup is not None:
                raise ValueError(
                    f'{type(self).__name__} with by_epoch=True needs an '
                    'epoch-based policy without warm-up; this one changes '
                    f'within epochs ({policy_cfg!r}): build it with '
                    'convert_to_iter_based=True (epoch-based runs) or '
                    'by_epoch=False')
            if max_epochs is None and end != INF:
                max_epochs = end
            if max_iters is None and max_epochs is not None and \
                    epoch_length:
                max_iters = max_epochs * epoch_length
        elif max_iters is None and end != INF:
            max_iters = end
        if (max_epochs is None and max_iters is not None and epoch_length
                and max_iters % epoch_length == 0):
            max_epochs = max_iters // epoch_length
        if epoch_length is None and not by_epoch and (
                self._schedule.by_epoch or self._schedule.warmup_by_epoch):
            raise ValueError(
                f'{type(self).__name__}: the policy {policy_cfg!r} is '
                'epoch-based and needs epoch_length (use '
                'convert_to_iter_based=True or pass epoch_length)')
        self.max_iters = max_iters
        self.max_epochs = max_epochs
        self.epoch_length = epoch_length
        raw = (optimizer.optimizer
               if isinstance(optimizer, BaseOptimWrapper) else optimizer)
        self.optimizer_name = optimizer_name or type(raw).__name__
        self._num_real_groups = len(raw.param_groups)
        if last_step == -1:
            self._init_policy_groups(optimizer.param_groups)
        initial = _init_base_values(optimizer, param_name, last_step)
        self._bases = self._group_bases(initial)
        # (epoch, values) of an epoch-based policy, see _get_value
        self._epoch_values: Optional[tuple] = None
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    #: compiles ``policy_cfg`` (set by the subclasses)
    _compile: Callable[[Mapping], Schedule]

    def _init_policy_groups(self, groups: list) -> None:
        """Hook for policy-specific group keys on a fresh start."""

    def _group_bases(self, initial: list) -> list:
        """Bases of the optimizer's groups; a wrapper's extra base-settings
        group takes its own initial value, or the last group's OneCycle base.
        """
        bases = self._schedule.base_values(initial[:self._num_real_groups],
                                           self.optimizer_name)
        extra = initial[self._num_real_groups:]
        if extra and self._schedule.policy == 'OneCycle':
            extra = bases[-1:] * len(extra)
        return bases + extra

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: Optional[int] = None,
                              max_epochs: Optional[int] = None,
                              **kwargs):
        """Build from an epoch-based config: ``end`` (the runner's
        ``max_epochs`` by default) gives ``max_epochs``, and the range is
        converted to iterations."""
        check_epoch_conversion(cls, by_epoch, epoch_length)
        if max_epochs is None and end != INF:
            max_epochs = end
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False,
                   epoch_length=epoch_length, max_epochs=max_epochs, **kwargs)

    def _get_value(self) -> list:
        length = self.epoch_length
        if self.by_epoch:  # counted in epochs (see __init__)
            epoch = self._global_step
            it = epoch * length if length else 0
        else:
            it = self._global_step
            epoch = it // length if length else 0
        # An epoch-based policy past its warm-up has one value per epoch:
        # it is computed at the epoch's first step and reused until the
        # next (the same floats, without re-evaluating the policy at every
        # iteration).
        cache = self._epoch_values
        if cache is not None and cache[0] == epoch:
            return cache[1]
        value = self._schedule.value
        values = [
            value(base, epoch, it, self.max_epochs, self.max_iters, length)
            for base in self._bases
        ]
        if self._schedule.by_epoch and it >= self._schedule.warmup_length(
                length):
            self._epoch_values = (epoch, values)
        return values

    def state_dict(self) -> dict:
        """Plain-typed state: the compiled policy is rebuilt on load."""
        state = super().state_dict()
        state.pop('_schedule', None)
        state.pop('_epoch_values', None)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state, recompiling the saved policy (the saved state
        wins over the config, as for every scheduler)."""
        super().load_state_dict(state_dict)
        self._schedule = self._compile(self.policy_cfg)
        self._epoch_values = None


@PARAM_SCHEDULERS.register_module()
class ClosedFormLR(LRSchedulerMixin, _ClosedFormScheduler):
    """The learning rate of an mmcv ``lr_config`` (``LrUpdaterHook``
    family: fixed, step, exp, poly, inv, CosineAnnealing,
    FlatCosineAnnealing, CosineRestart, Cyclic, OneCycle, LinearAnnealing,
    with constant/linear/exp warm-up), exactly at every iteration."""

    _compile = staticmethod(lr_schedule)

    def _init_policy_groups(self, groups: list) -> None:
        # mmcv records max_lr / div_factor as OneCycle's initial_lr.
        if self._schedule.policy == 'OneCycle':
            bases = self._group_bases([group[LR] for group in groups])
            for group, base in zip(groups, bases):
                group.setdefault('initial_lr', base)


@PARAM_SCHEDULERS.register_module()
class ClosedFormMomentum(MomentumSchedulerMixin, _ClosedFormScheduler):
    """The momentum of an mmcv ``momentum_config`` (``MomentumUpdaterHook``
    family: step, CosineAnnealing, LinearAnnealing, Cyclic, OneCycle, with
    warm-up), exactly at every iteration; Adam-like optimizers get
    ``betas[0]`` scheduled."""

    _compile = staticmethod(momentum_schedule)
