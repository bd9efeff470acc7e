"""mmcv's LrUpdaterHook family, computed by the engine's closed forms.

The hooks keep mmcv's class names, arguments, registry names and stage logic
(when the lr is set: at each epoch start with ``by_epoch``, else before each
iteration; warm-up counted in iterations). The values come from
``engine.optim.scheduler.closed_form``, the same functions the engine's
``ClosedFormLR`` uses for migrated configs, so a legacy run, a migrated run
and an mmcv run see the same floats. Subclasses may still override
``get_lr(runner, base_lr)`` as in mmcv.
"""
from typing import Callable, Dict, List, Optional, Union

from engine.optim.scheduler.closed_form import (annealing_cos,
                                                annealing_linear,
                                                lr_schedule)
from engine.optim.scheduler.closed_form import format_param as _format
from .hook import HOOKS, Hook

__all__ = [
    'LrUpdaterHook', 'FixedLrUpdaterHook', 'StepLrUpdaterHook',
    'ExpLrUpdaterHook', 'PolyLrUpdaterHook', 'InvLrUpdaterHook',
    'CosineAnnealingLrUpdaterHook', 'FlatCosineAnnealingLrUpdaterHook',
    'CosineRestartLrUpdaterHook', 'CyclicLrUpdaterHook',
    'OneCycleLrUpdaterHook', 'LinearAnnealingLrUpdaterHook', 'annealing_cos',
    'annealing_linear', 'format_param'
]


def format_param(name: str, optim, param) -> list:
    """mmcv's helper: ``param`` (a number, a per-group list, or a dict per
    optimizer name) as one value per param group of ``optim``."""
    return _format(name, len(optim.param_groups), param)


def optimizers_of(runner) -> Dict[Optional[str], object]:
    """The runner's optimizers by name (``None`` for a single one)."""
    if isinstance(runner.optimizer, dict):
        return runner.optimizer
    if runner.optimizer is None:
        raise TypeError('the lr and momentum hooks schedule runner.optimizer, '
                        'but the runner was built with optimizer=None')
    return {None: runner.optimizer}


def initial_values(runner, key: str, read: Callable[[dict], float]):
    """Each param group's starting value, recorded once in the group under
    ``key`` (so a resumed optimizer keeps it): a list for one optimizer, a
    dict of lists for several. Shared by the lr and momentum hooks."""
    bases = {}
    for name, optim in optimizers_of(runner).items():
        for group in optim.param_groups:
            group.setdefault(key, read(group))
        bases[name] = [g[key] for g in optim.param_groups]
    return bases.pop(None) if None in bases else bases


def per_optimizer(fn: Callable[[list], list], values):
    """``fn`` applied to a per-group list, or to each list of a dict of them
    (one per optimizer name)."""
    if isinstance(values, dict):
        return {k: fn(v) for k, v in values.items()}
    return fn(values)


def write_groups(runner, values, write: Callable[[dict, float], None]) -> None:
    """``write(group, value)`` for every param group of the runner's
    optimizer(s), ``values`` shaped as ``initial_values`` returns them."""
    for name, optim in optimizers_of(runner).items():
        group_values = values if name is None else values[name]
        for group, value in zip(optim.param_groups, group_values):
            write(group, value)


def _read_lr(group: dict) -> float:
    return group['lr']


def _write_lr(group: dict, lr: float) -> None:
    group['lr'] = lr


class LrUpdaterHook(Hook):
    """Base class: sets the learning rate of every param group.

    Args:
        by_epoch: change the lr at epoch starts (True) or every iteration.
        warmup: None, 'constant', 'linear' or 'exp'.
        warmup_iters: warm-up length in iterations (in epochs with
            ``warmup_by_epoch``).
        warmup_ratio: the warm-up starts at ``warmup_ratio * lr``.
        warmup_by_epoch: ``warmup_iters`` counts epochs.
    """

    # closed_form policy computing get_lr; None for the base class, which
    # only uses the warm-up part (shared by every policy) and leaves get_lr
    # to subclasses.
    _policy: Optional[str] = None

    def __init__(self,
                 by_epoch: bool = True,
                 warmup: Optional[str] = None,
                 warmup_iters: int = 0,
                 warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        self.schedule = lr_schedule(
            dict(
                policy=self._policy or 'Fixed',
                by_epoch=by_epoch,
                warmup=warmup,
                warmup_iters=warmup_iters,
                warmup_ratio=warmup_ratio,
                warmup_by_epoch=warmup_by_epoch,
                **self._policy_options()))
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_iters: Optional[int] = warmup_iters
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        if warmup_by_epoch:
            self.warmup_epochs: Optional[int] = warmup_iters
            self.warmup_iters = None
        else:
            self.warmup_epochs = None
        self.base_lr: Union[list, dict] = []  # initial lr of each group
        self.regular_lr: Union[list, dict] = []  # lr without warm-up

    def _policy_options(self) -> dict:
        """The policy's own arguments, as closed_form options."""
        return {}

    def _set_lr(self, runner, lr_groups) -> None:
        write_groups(runner, lr_groups, _write_lr)

    def get_lr(self, runner, base_lr: float) -> float:
        """The lr of a group with initial lr ``base_lr``, without warm-up."""
        if self._policy is None:
            raise NotImplementedError(
                f'{type(self).__name__} must implement get_lr(runner, '
                'base_lr)')
        return self.schedule.regular(base_lr, runner.epoch, runner.iter,
                                     runner.max_epochs, runner.max_iters)

    def get_regular_lr(self, runner) -> Union[List[float], Dict[str, list]]:
        return per_optimizer(
            lambda bases: [self.get_lr(runner, base) for base in bases],
            self.base_lr)

    def get_warmup_lr(self, cur_iters: int):
        """``self.regular_lr`` with the warm-up factor of ``cur_iters``."""

        return per_optimizer(
            lambda regular: [
                self.schedule.warm(lr, cur_iters, self.warmup_iters)
                for lr in regular
            ], self.regular_lr)

    def before_run(self, runner) -> None:
        self.base_lr = initial_values(runner, 'initial_lr', _read_lr)

    def before_train_epoch(self, runner) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * len(runner.data_loader)
        if not self.by_epoch:
            return
        self.regular_lr = self.get_regular_lr(runner)
        self._set_lr(runner, self.regular_lr)

    def before_train_iter(self, runner) -> None:
        cur_iter = runner.iter
        if self.warmup_iters is None:
            raise RuntimeError(
                'warmup_by_epoch needs the epoch length, known at the start '
                'of a train epoch; IterBasedRunner has no train epochs: give '
                'warmup_iters in iterations')
        if not self.by_epoch:
            self.regular_lr = self.get_regular_lr(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_lr(runner, self.regular_lr)
            else:
                self._set_lr(runner, self.get_warmup_lr(cur_iter))
        elif self.warmup is None or cur_iter > self.warmup_iters:
            return
        elif cur_iter == self.warmup_iters:
            self._set_lr(runner, self.regular_lr)
        else:
            self._set_lr(runner, self.get_warmup_lr(cur_iter))


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """Keep the initial lr (warm-up only)."""
    _policy = 'Fixed'

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``lr * gamma ** k`` after the k-th step (``step`` an interval, or a
    list of epochs/iterations), floored at ``min_lr``."""
    _policy = 'Step'

    def __init__(self,
                 step: Union[int, List[int]],
                 gamma: float = 0.1,
                 min_lr: Optional[float] = None,
                 **kwargs) -> None:
        self.step = step
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(step=self.step, gamma=self.gamma, min_lr=self.min_lr)


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``lr * gamma ** progress``."""
    _policy = 'Exp'

    def __init__(self, gamma: float, **kwargs) -> None:
        self.gamma = gamma
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(gamma=self.gamma)


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``(lr - min_lr) * (1 - progress / max) ** power + min_lr``."""
    _policy = 'Poly'

    def __init__(self,
                 power: float = 1.,
                 min_lr: float = 0.,
                 **kwargs) -> None:
        self.power = power
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(power=self.power, min_lr=self.min_lr)


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``lr * (1 + gamma * progress) ** -power``."""
    _policy = 'Inv'

    def __init__(self, gamma: float, power: float = 1., **kwargs) -> None:
        self.gamma = gamma
        self.power = power
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(gamma=self.gamma, power=self.power)


class _TargetMixin:
    """Policies annealing to ``min_lr`` or ``min_lr * ratio``."""

    def _policy_options(self) -> dict:
        return dict(min_lr=self.min_lr, min_lr_ratio=self.min_lr_ratio)


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_TargetMixin, LrUpdaterHook):
    """Cosine annealing from the initial lr to ``min_lr`` (or
    ``min_lr_ratio`` times the initial lr) over the run."""
    _policy = 'CosineAnnealing'

    def __init__(self,
                 min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(LrUpdaterHook):
    """Constant lr, then cosine annealing from ``start_percent`` of the
    run."""
    _policy = 'FlatCosineAnnealing'

    def __init__(self,
                 start_percent: float = 0.75,
                 min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.start_percent = start_percent
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(
            start_percent=self.start_percent,
            min_lr=self.min_lr,
            min_lr_ratio=self.min_lr_ratio)


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(LrUpdaterHook):
    """Cosine annealing restarted after each of ``periods``, each cycle
    starting at ``restart_weights[i]`` of the way from the target."""
    _policy = 'CosineRestart'

    def __init__(self,
                 periods: List[int],
                 restart_weights: List[float] = [1],
                 min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.periods = periods
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        self.restart_weights = restart_weights
        super().__init__(**kwargs)
        self.cumulative_periods = [
            sum(self.periods[0:i + 1]) for i in range(0, len(self.periods))
        ]

    def _policy_options(self) -> dict:
        return dict(
            periods=self.periods,
            restart_weights=self.restart_weights,
            min_lr=self.min_lr,
            min_lr_ratio=self.min_lr_ratio)


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """Cyclic lr (by iteration): up to ``target_ratio[0]`` times the initial
    lr during ``step_ratio_up`` of each cycle, then down to
    ``target_ratio[1]`` times it; cycles shrink by ``gamma``."""
    _policy = 'Cyclic'

    def __init__(self,
                 by_epoch: bool = False,
                 target_ratio: Union[float, tuple] = (10, 1e-4),
                 cyclic_times: int = 1,
                 step_ratio_up: float = 0.4,
                 anneal_strategy: str = 'cos',
                 gamma: float = 1,
                 **kwargs) -> None:
        if not isinstance(target_ratio, (float, tuple)):
            raise ValueError('target_ratio should be either float or tuple, '
                             f'got {type(target_ratio).__name__}')
        self.target_ratio = target_ratio
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.anneal_strategy = anneal_strategy
        self.gamma = gamma
        super().__init__(by_epoch, **kwargs)
        self.target_ratio = self.schedule.options['target_ratio']
        self.anneal_func: Callable = (
            annealing_cos if anneal_strategy == 'cos' else annealing_linear)

    def _policy_options(self) -> dict:
        return dict(
            target_ratio=self.target_ratio,
            cyclic_times=self.cyclic_times,
            step_ratio_up=self.step_ratio_up,
            anneal_strategy=self.anneal_strategy,
            gamma=self.gamma)


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """The 1cycle policy (by iteration): from ``max_lr / div_factor`` up to
    ``max_lr`` during ``pct_start`` of ``total_steps`` (default: the run),
    then down to ``max_lr / div_factor / final_div_factor``."""
    _policy = 'OneCycle'

    def __init__(self,
                 max_lr: Union[float, List],
                 total_steps: Optional[int] = None,
                 pct_start: float = 0.3,
                 anneal_strategy: str = 'cos',
                 div_factor: float = 25,
                 final_div_factor: float = 1e4,
                 three_phase: bool = False,
                 **kwargs) -> None:
        kwargs.setdefault('by_epoch', False)
        self._max_lr = max_lr
        if total_steps is not None:
            self.total_steps = total_steps
        self._total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        super().__init__(**kwargs)
        self.anneal_func: Callable = (
            annealing_cos if anneal_strategy == 'cos' else annealing_linear)

    def _policy_options(self) -> dict:
        return dict(
            max_lr=self._max_lr,
            total_steps=self._total_steps,
            pct_start=self.pct_start,
            anneal_strategy=self.anneal_strategy,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
            three_phase=self.three_phase)

    def before_run(self, runner) -> None:
        total_steps = getattr(self, 'total_steps', runner.max_iters)
        if total_steps < runner.max_iters:
            raise ValueError(
                'The total steps must be greater than or equal to max '
                f'iterations {runner.max_iters} of runner, but total steps '
                f'is {total_steps}.')
        base_lr = {}
        for name, optim in optimizers_of(runner).items():
            key = type(optim).__name__ if name is None else name
            bases = self.schedule.base_values(
                [g['lr'] for g in optim.param_groups], key)
            for group, lr in zip(optim.param_groups, bases):
                group.setdefault('initial_lr', lr)
            base_lr[name] = bases
        self.base_lr = base_lr.pop(None) if None in base_lr else base_lr


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_TargetMixin, LrUpdaterHook):
    """Linear decay from the initial lr to ``min_lr`` (or ``min_lr_ratio``
    times the initial lr) over the run."""
    _policy = 'LinearAnnealing'

    def __init__(self,
                 min_lr: Optional[float] = None,
                 min_lr_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)
