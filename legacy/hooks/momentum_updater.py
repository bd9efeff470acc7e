"""mmcv's MomentumUpdaterHook family, computed by the engine's closed forms
(see :mod:`legacy.hooks.lr_updater`). The momentum is ``momentum`` in the
param group, or ``betas[0]`` for Adam-like optimizers."""
from typing import Callable, Dict, List, Optional, Tuple, Union

from engine.optim.scheduler.closed_form import (annealing_cos,
                                                annealing_linear,
                                                momentum_schedule)
from .hook import HOOKS, Hook
from .lr_updater import (initial_values, optimizers_of, per_optimizer,
                         write_groups)

__all__ = [
    'MomentumUpdaterHook', 'StepMomentumUpdaterHook',
    'CosineAnnealingMomentumUpdaterHook', 'LinearAnnealingMomentumUpdaterHook',
    'CyclicMomentumUpdaterHook', 'OneCycleMomentumUpdaterHook'
]


def _group_momentum(group: dict) -> float:
    return group['momentum'] if 'momentum' in group else group['betas'][0]


def _set_group_momentum(group: dict, momentum: float) -> None:
    if 'momentum' in group:
        group['momentum'] = momentum
    elif 'betas' in group:
        group['betas'] = (momentum, group['betas'][1])


class MomentumUpdaterHook(Hook):
    """Base class: sets the momentum of every param group.

    Args:
        by_epoch: change it at epoch starts (True) or every iteration.
        warmup: None, 'constant', 'linear' or 'exp' (the momentum is divided
            by the warm-up factor).
        warmup_iters: warm-up length in iterations.
        warmup_ratio: the warm-up starts at ``momentum / warmup_ratio``.
    """

    # closed_form policy computing get_momentum; None for the base class,
    # which only uses the warm-up part. closed_form has no 'fixed' momentum
    # policy, so the base class compiles a placeholder one for its warm-up.
    _policy: Optional[str] = None

    def __init__(self,
                 by_epoch: bool = True,
                 warmup: Optional[str] = None,
                 warmup_iters: int = 0,
                 warmup_ratio: float = 0.9) -> None:
        self.schedule = momentum_schedule(
            dict(
                policy=self._policy or 'Step',
                by_epoch=by_epoch,
                warmup=warmup,
                warmup_iters=warmup_iters,
                warmup_ratio=warmup_ratio,
                **(self._policy_options() if self._policy else dict(
                    step=1))))
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio
        self.base_momentum: Union[list, dict] = []
        self.regular_momentum: Union[list, dict] = []

    def _policy_options(self) -> dict:
        return {}

    def _set_momentum(self, runner, momentum_groups) -> None:
        write_groups(runner, momentum_groups, _set_group_momentum)

    def get_momentum(self, runner, base_momentum) -> float:
        """The momentum of a group with base ``base_momentum``, without
        warm-up."""
        if self._policy is None:
            raise NotImplementedError(
                f'{type(self).__name__} must implement get_momentum(runner, '
                'base_momentum)')
        return self.schedule.regular(base_momentum, runner.epoch,
                                     runner.iter, runner.max_epochs,
                                     runner.max_iters)

    def get_regular_momentum(self, runner) -> Union[list, Dict[str, list]]:
        return per_optimizer(
            lambda bases: [self.get_momentum(runner, b) for b in bases],
            self.base_momentum)

    def get_warmup_momentum(
            self, cur_iters: int) -> Union[List[float], Dict[str, list]]:

        return per_optimizer(
            lambda regular: [
                self.schedule.warm(m, cur_iters, self.warmup_iters)
                for m in regular
            ], self.regular_momentum)

    def before_run(self, runner) -> None:
        self.base_momentum = initial_values(runner, 'initial_momentum',
                                            _group_momentum)

    def before_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        self.regular_momentum = self.get_regular_momentum(runner)
        self._set_momentum(runner, self.regular_momentum)

    def before_train_iter(self, runner) -> None:
        cur_iter = runner.iter
        if not self.by_epoch:
            self.regular_momentum = self.get_regular_momentum(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_momentum(runner, self.regular_momentum)
            else:
                self._set_momentum(runner,
                                   self.get_warmup_momentum(cur_iter))
        elif self.warmup is None or cur_iter > self.warmup_iters:
            return
        elif cur_iter == self.warmup_iters:
            self._set_momentum(runner, self.regular_momentum)
        else:
            self._set_momentum(runner, self.get_warmup_momentum(cur_iter))


@HOOKS.register_module()
class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``momentum * gamma ** k`` after the k-th step, floored at
    ``min_momentum``."""
    _policy = 'Step'

    def __init__(self,
                 step: Union[int, List[int]],
                 gamma: float = 0.5,
                 min_momentum: Optional[float] = None,
                 **kwargs) -> None:
        self.step = step
        self.gamma = gamma
        self.min_momentum = min_momentum
        super().__init__(**kwargs)

    def _policy_options(self) -> dict:
        return dict(
            step=self.step, gamma=self.gamma, min_momentum=self.min_momentum)


class _TargetMixin:

    def _policy_options(self) -> dict:
        return dict(
            min_momentum=self.min_momentum,
            min_momentum_ratio=self.min_momentum_ratio)


@HOOKS.register_module()
class CosineAnnealingMomentumUpdaterHook(_TargetMixin, MomentumUpdaterHook):
    """Cosine annealing of the momentum to ``min_momentum`` (or
    ``min_momentum_ratio`` times the initial one)."""
    _policy = 'CosineAnnealing'

    def __init__(self,
                 min_momentum: Optional[float] = None,
                 min_momentum_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)


@HOOKS.register_module()
class LinearAnnealingMomentumUpdaterHook(_TargetMixin, MomentumUpdaterHook):
    """Linear annealing of the momentum to ``min_momentum`` (or
    ``min_momentum_ratio`` times the initial one)."""
    _policy = 'LinearAnnealing'

    def __init__(self,
                 min_momentum: Optional[float] = None,
                 min_momentum_ratio: Optional[float] = None,
                 **kwargs) -> None:
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)


@HOOKS.register_module()
class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """Cyclic momentum (by iteration), usually beside CyclicLrUpdaterHook:
    down to ``target_ratio[0]`` times the initial momentum, then to
    ``target_ratio[1]`` times it."""
    _policy = 'Cyclic'

    def __init__(self,
                 by_epoch: bool = False,
                 target_ratio: Tuple[float, float] = (0.85 / 0.95, 1.),
                 cyclic_times: int = 1,
                 step_ratio_up: float = 0.4,
                 anneal_strategy: str = 'cos',
                 gamma: float = 1.,
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
class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """The 1cycle momentum (by iteration), inverse to the lr: from
    ``max_momentum`` down to ``base_momentum`` during ``pct_start`` of the
    run, then back up."""
    _policy = 'OneCycle'

    def __init__(self,
                 base_momentum: Union[float, list, dict] = 0.85,
                 max_momentum: Union[float, list, dict] = 0.95,
                 pct_start: float = 0.3,
                 anneal_strategy: str = 'cos',
                 three_phase: bool = False,
                 **kwargs) -> None:
        kwargs.setdefault('by_epoch', False)
        for name, value in (('base_momentum', base_momentum),
                            ('max_momentum', max_momentum)):
            if not isinstance(value, (float, list, dict)):
                raise ValueError(f'{name} must be a float, a list or a dict, '
                                 f'got {type(value).__name__}')
        self._base_momentum = base_momentum
        self._max_momentum = max_momentum
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.three_phase = three_phase
        super().__init__(**kwargs)
        self.anneal_func: Callable = (
            annealing_cos if anneal_strategy == 'cos' else annealing_linear)

    def _policy_options(self) -> dict:
        return dict(
            base_momentum=self._base_momentum,
            max_momentum=self._max_momentum,
            pct_start=self.pct_start,
            anneal_strategy=self.anneal_strategy,
            three_phase=self.three_phase)

    def before_run(self, runner) -> None:
        bases = {}
        for name, optim in optimizers_of(runner).items():
            if ('momentum' not in optim.defaults
                    and 'betas' not in optim.defaults):
                raise ValueError(
                    f'{type(optim).__name__} has no momentum (nor betas) '
                    'for OneCycleMomentumUpdaterHook to schedule')
            self.use_beta1 = 'betas' in optim.defaults
            key = type(optim).__name__ if name is None else name
            pairs = self.schedule.base_values(
                [_group_momentum(g) for g in optim.param_groups], key)
            for group, (b_momentum, m_momentum) in zip(optim.param_groups,
                                                       pairs):
                if self.use_beta1:
                    group['betas'] = (m_momentum, group['betas'][1])
                else:
                    group['momentum'] = m_momentum
                group['base_momentum'] = b_momentum
                group['max_momentum'] = m_momentum
            bases[name] = pairs
        self.base_momentum = bases.pop(None) if None in bases else bases
