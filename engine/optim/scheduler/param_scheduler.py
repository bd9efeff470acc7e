"""Parameter schedulers with mmengine 0.10.7's stepping semantics.

Each scheduler owns the range ``[begin, end)`` of steps (epochs or
iterations) during which it writes ``param_name`` into every parameter group.
Most schedules are *chained*: the new value is computed from the value the
group holds now, which is what lets several schedulers compose (a LinearLR
warm-up multiplied into a MultiStepLR) and is also the floating-point
operation order mmengine uses. Parity with mmengine is bitwise, so the
formulas below keep its order of operations exactly; a closed form would
round differently.

A scheduler is stepped by ``ParamSchedulerHook`` after every iteration
(``by_epoch=False``) or every epoch (``by_epoch=True``); the constructor makes
the first step, which sets the value of step 0.
"""
import math
import numbers
from typing import Dict, List, Optional, Sequence, Union

from torch.optim import Optimizer

from engine.logging import print_log
from engine.registry import PARAM_SCHEDULERS
from ..base import BaseOptimWrapper

INF = int(1e9)

OptimizerType = Union[BaseOptimWrapper, Optimizer]


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, (Optimizer, BaseOptimWrapper)):
        raise TypeError('optimizer should be a torch.optim.Optimizer or an '
                        'OptimWrapper, but got '
                        f'{type(optimizer).__name__}')


def check_numbers(owner: str, optional: Sequence[str] = (),
                  **values) -> None:
    """TypeError naming the first argument that is not a number (None is
    accepted for the names in ``optional``)."""
    for name, value in values.items():
        if value is None and name in optional:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f'{owner}: {name} should be a number, but got '
                            f'{value!r}')


def _check_range(begin: int, end: int) -> None:
    for name, value in (('begin', begin), ('end', end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f'{name} should be an int, but got {value!r}')
    if end <= begin:
        raise ValueError('end should be larger than begin, but got '
                         f'begin={begin}, end={end}')


def check_epoch_conversion(cls: type, by_epoch: bool,
                           epoch_length: Optional[int]) -> None:
    """Reject what ``build_iter_from_epoch`` cannot convert."""
    if not by_epoch:
        raise ValueError(f'{cls.__name__}: only an epoch-based config '
                         '(by_epoch=True) can be converted to iterations')
    if (not isinstance(epoch_length, int) or isinstance(epoch_length, bool)
            or epoch_length <= 0):
        raise ValueError(f'{cls.__name__}: epoch_length must be a positive '
                         f'integer, but got {epoch_length!r}')


def _init_base_values(optimizer, param_name: str, last_step: int) -> list:
    """Record ``initial_<param>`` in each group (first build) or check that it
    is there (resume), and return those base values."""
    if not isinstance(last_step, int) or last_step < -1:
        raise ValueError(f'last_step should be an int >= -1, got {last_step!r}')
    key = f'initial_{param_name}'
    for i, group in enumerate(optimizer.param_groups):
        if last_step == -1:
            if param_name not in group:
                raise KeyError(f'param_groups[{i}] has no {param_name!r} to '
                               'schedule')
            group.setdefault(key, group[param_name])
        elif key not in group:
            raise KeyError(f'param {key!r} is not specified in '
                           f'param_groups[{i}] when resuming an optimizer')
    return [group[key] for group in optimizer.param_groups]


class _ParamScheduler:
    """Base class: range handling, stepping, state and iteration conversion.

    Args:
        optimizer: an optimizer or optimizer wrapper.
        param_name: the group key to schedule ('lr', 'momentum', ...).
        begin, end: the scheduler acts on steps ``begin <= step < end``.
        last_step: index of the last step done; -1 starts afresh.
        by_epoch: stepped per epoch (True) or per iteration (False).
        verbose: log each value written.

    Unlike mmengine, ``optimizer.step`` is not wrapped with a call counter
    (it served only to warn about calling the scheduler before the
    optimizer, and cost a Python wrapper call on every optimizer step).
    """

    #: Constructor arguments measured in steps, multiplied by the epoch
    #: length when converting an epoch-based config to iterations.
    _epoch_scaled_args: Sequence[str] = ()

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        _check_optimizer(optimizer)
        _check_range(begin, end)
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self.base_values = _init_base_values(optimizer, param_name, last_step)
        self.last_step = last_step
        self._global_step = -1
        self.verbose = verbose
        self.step()

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: Optional[int] = None,
                              **kwargs):
        """Build the iteration-based equivalent of an epoch-based config.

        ``begin``/``end`` and the step-measured arguments of the class (for
        example ``milestones`` or ``T_max``) are multiplied by
        ``epoch_length``; the result steps every iteration.
        """
        check_epoch_conversion(cls, by_epoch, epoch_length)
        for name in cls._epoch_scaled_args:
            value = kwargs.get(name)
            if isinstance(value, (list, tuple)):
                kwargs[name] = [v * epoch_length for v in value]
            elif value is not None:
                kwargs[name] = value * epoch_length
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def state_dict(self) -> dict:
        """Everything but the optimizer and bound functions, so that the
        result holds only types ``torch.load(weights_only=True)`` accepts."""
        return {
            key: value
            for key, value in self.__dict__.items()
            if key != 'optimizer' and not callable(value)
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state produced by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def get_last_value(self) -> list:
        """The values of the last step, one per parameter group."""
        return self._last_value

    def _get_value(self) -> list:
        """Values for the current ``last_step`` (subclasses)."""
        raise NotImplementedError

    def _current_values(self) -> list:
        return [group[self.param_name] for group in self.optimizer.param_groups]

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        if is_verbose:
            print_log(f'Adjusting parameter value of group {group} to '
                      f'{value:.4e}.', logger='current')

    def step(self) -> None:
        """Advance one step and write the new values inside the range."""
        self._global_step += 1
        groups = self.optimizer.param_groups
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            values = self._get_value()
            for i, (group, value) in enumerate(zip(groups, values)):
                group[self.param_name] = value
                self.print_value(self.verbose, i, value)
        self._last_value = [group[self.param_name] for group in groups]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` every ``step_size`` steps."""

    _epoch_scaled_args = ('step_size',)

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 step_size: int,
                 gamma: float = 0.1,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f'step_size should be a positive int, but got '
                             f'{step_size!r}')
        check_numbers(type(self).__name__, gamma=gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._current_values()
        return [v * self.gamma for v in self._current_values()]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` at each milestone (repeated milestones
    multiply by ``gamma`` once per repetition)."""

    _epoch_scaled_args = ('milestones',)

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 milestones: List[int],
                 gamma: float = 0.1,
                 last_step: int = -1,
                 begin: int = 0,
                 end: int = INF,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, gamma=gamma)
        if not isinstance(milestones, (list, tuple)):
            raise TypeError('milestones should be a list of ints, but got '
                            f'{milestones!r}')
        # A plain dict (not collections.Counter) keeps the state dict loadable
        # with weights_only=True.
        self.milestones: Dict[int, int] = {}
        for milestone in milestones:
            self.milestones[milestone] = self.milestones.get(milestone, 0) + 1
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        count = self.milestones.get(self.last_step)
        if count is None:
            return self._current_values()
        return [v * self.gamma**count for v in self._current_values()]


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply by ``factor`` at the start and divide it back out at
    ``end - begin - 1``."""

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 factor: float = 1.0 / 3,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, factor=factor)
        if factor > 1.0 or factor < 0:
            raise ValueError('Constant multiplicative factor should be '
                             f'between 0 and 1, but got {factor!r}')
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        values = self._current_values()
        if self.last_step == 0:
            return [v * self.factor for v in values]
        if self.last_step == self.total_iters:
            return [v * (1.0 / self.factor) for v in values]
        return values


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` every step."""

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 gamma: float,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, gamma=gamma)
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        if self.last_step == 0:
            return self._current_values()
        return [v * self.gamma for v in self._current_values()]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    """Cosine annealing from the base value to ``eta_min`` (or
    ``base * eta_min_ratio``) over ``T_max`` steps (default ``end - begin``),
    in mmengine's recursive form."""

    _epoch_scaled_args = ('T_max',)

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 T_max: Optional[int] = None,
                 eta_min: Optional[float] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 eta_min_ratio: Optional[float] = None):
        check_numbers(type(self).__name__,
                      ('T_max', 'eta_min', 'eta_min_ratio'), T_max=T_max,
                      eta_min=eta_min, eta_min_ratio=eta_min_ratio)
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.
        if eta_min is not None and eta_min_ratio is not None:
            raise ValueError('give either eta_min or eta_min_ratio, not both '
                             f'(got {eta_min!r} and {eta_min_ratio!r})')
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _eta_min(self, base_value: float) -> float:
        if self.eta_min_ratio is None:
            return self.eta_min
        return base_value * self.eta_min_ratio

    def _get_value(self) -> list:
        values = self._current_values()
        step, t_max = self.last_step, self.T_max
        if step == 0:
            return values
        pairs = zip(self.base_values, values)
        if (step - 1 - t_max) % (2 * t_max) == 0:
            return [
                v + (base - self._eta_min(base)) *
                (1 - math.cos(math.pi / t_max)) / 2 for base, v in pairs
            ]
        ratio_num = 1 + math.cos(math.pi * step / t_max)
        ratio_den = 1 + math.cos(math.pi * (step - 1) / t_max)
        return [
            ratio_num / ratio_den * (v - self._eta_min(base)) +
            self._eta_min(base) for base, v in pairs
        ]


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Scale linearly from ``start_factor`` to ``end_factor`` of the value
    over ``end - begin - 1`` steps (mmengine's length, one less than the
    range)."""

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, start_factor=start_factor,
                      end_factor=end_factor)
        if start_factor > 1.0 or start_factor < 0:
            raise ValueError('start_factor should be between 0 and 1, but got '
                             f'{start_factor!r}')
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError('end_factor should be between 0 and 1, but got '
                             f'{end_factor!r}')
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        values = self._current_values()
        if self.last_step == 0:
            return [v * self.start_factor for v in values]
        delta = self.end_factor - self.start_factor
        factor = 1. + delta / (self.total_iters * self.start_factor +
                               (self.last_step - 1) * delta)
        return [v * factor for v in values]


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    """Polynomial decay to ``eta_min`` over ``end - begin - 1`` steps."""

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 eta_min: float = 0,
                 power: float = 1.0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, eta_min=eta_min, power=power)
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    def _get_value(self) -> list:
        values = self._current_values()
        if self.last_step == 0:
            return values
        coeff = (1 - 1 / (self.total_iters - self.last_step + 1))**self.power
        return [(v - self.eta_min) * coeff + self.eta_min for v in values]


def _annealing_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _annealing_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """The 1cycle policy: rise from ``eta_max / div_factor`` to ``eta_max``
    during ``pct_start`` of ``total_steps`` (default ``end - begin``), then
    fall to ``initial / final_div_factor`` (three phases: back to the initial
    value first)."""

    _epoch_scaled_args = ('total_steps',)

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 eta_max: float = 0,
                 total_steps: Optional[int] = None,
                 pct_start: float = 0.3,
                 anneal_strategy: str = 'cos',
                 div_factor: float = 25.,
                 final_div_factor: float = 1e4,
                 three_phase: bool = False,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        if param_name != 'lr':
            raise ValueError('OneCycle only schedules the learning rate, but '
                             f'got param_name={param_name!r}')
        check_numbers(type(self).__name__, div_factor=div_factor,
                      final_div_factor=final_div_factor)
        self.eta_max = eta_max
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError('Expected positive integer total_steps, but '
                                 f'got {total_steps!r}')
            self.total_steps = total_steps
        else:
            self.total_steps = end - begin
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError('Expected float between 0 and 1 pct_start, but '
                             f'got {pct_start!r}')
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError('anneal_strategy must be "cos" or "linear", but '
                             f'got {anneal_strategy!r}')
        self.anneal_strategy = anneal_strategy
        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                (up_end, 'initial', 'max'),
                (float(2 * pct_start * self.total_steps) - 2, 'max',
                 'initial'),
                (self.total_steps - 1, 'initial', 'min'),
            ]
        else:
            self._schedule_phases = [
                (up_end, 'initial', 'max'),
                (self.total_steps - 1, 'max', 'min'),
            ]
        if last_step == -1:
            max_values = self._format_param(f'max_{param_name}', optimizer,
                                            eta_max)
            for group, max_value in zip(optimizer.param_groups, max_values):
                group[f'initial_{param_name}'] = max_value / div_factor
                group[f'max_{param_name}'] = max_value
                group[f'min_{param_name}'] = (
                    group[f'initial_{param_name}'] / final_div_factor)
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    @staticmethod
    def _format_param(name: str, optimizer, param) -> list:
        if isinstance(param, (list, tuple)):
            if len(param) != len(optimizer.param_groups):
                raise ValueError(f'expected {len(optimizer.param_groups)} '
                                 f'values for {name}, got {len(param)}')
            return list(param)
        return [param] * len(optimizer.param_groups)

    def _get_value(self) -> list:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(f'Tried to step {step + 1} times. The specified '
                             f'number of total steps is {self.total_steps}')
        anneal = (_annealing_cos
                  if self.anneal_strategy == 'cos' else _annealing_linear)
        name = self.param_name
        values = []
        for group in self.optimizer.param_groups:
            start_step = 0
            for i, (end_step, start, end) in enumerate(self._schedule_phases):
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    values.append(
                        anneal(group[f'{start}_{name}'],
                               group[f'{end}_{name}'], pct))
                    break
                start_step = end_step
        return values


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    """Cosine annealing with restarts after each of ``periods``; each cycle
    starts at ``base * restart_weights[i]``."""

    _epoch_scaled_args = ('periods',)

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 periods: List[int],
                 restart_weights: Sequence[float] = (1, ),
                 eta_min: Optional[float] = None,
                 eta_min_ratio: Optional[float] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        check_numbers(type(self).__name__, ('eta_min', 'eta_min_ratio'),
                      eta_min=eta_min, eta_min_ratio=eta_min_ratio)
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError('give exactly one of eta_min and eta_min_ratio '
                             f'(got {eta_min!r} and {eta_min_ratio!r})')
        if len(periods) != len(restart_weights):
            raise ValueError('periods and restart_weights should have the '
                             f'same length, got {list(periods)} and '
                             f'{list(restart_weights)}')
        self.periods = list(periods)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.restart_weights = list(restart_weights)
        self.cumulative_periods = [
            sum(self.periods[:i + 1]) for i in range(len(self.periods))
        ]
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    @staticmethod
    def get_position_from_periods(
            iteration: int, cumulative_periods: List[int]) -> Optional[int]:
        """Index of the period holding ``iteration``; None past the end."""
        for i, period in enumerate(cumulative_periods):
            if iteration < period:
                return i
        return None

    def _get_value(self) -> list:
        idx = self.get_position_from_periods(self.last_step,
                                             self.cumulative_periods)
        values = self._current_values()
        if idx is None:
            return values
        weight = self.restart_weights[idx]
        restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period = self.periods[idx]
        step = self.last_step - restart
        result = []
        for base, value in zip(self.base_values, values):
            eta_max = base * weight
            eta_min = (self.eta_min if self.eta_min_ratio is None else
                       base * self.eta_min_ratio)
            if step == 0:
                result.append(eta_max)
            else:
                result.append(
                    (1 + math.cos(math.pi * step / period)) /
                    (1 + math.cos(math.pi * (step - 1) / period)) *
                    (value - eta_min) + eta_min)
        return result


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Multiply the value by ``factor`` when the validation metric
    ``monitor`` stopped improving for ``patience`` evaluations.

    ``ParamSchedulerHook`` calls ``step()`` after each training epoch (it
    only counts) and ``step(metrics)`` after each validation epoch, because
    ``need_val_args`` is set. Only ``by_epoch=True`` is supported.
    """

    need_val_args = True

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 monitor: str = 'loss',
                 rule: str = 'less',
                 factor: float = 0.1,
                 patience: int = 10,
                 threshold: float = 1e-4,
                 threshold_rule: str = 'rel',
                 cooldown: int = 0,
                 min_value: Union[float, Sequence[float]] = 0.,
                 eps: float = 1e-8,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        _check_optimizer(optimizer)
        _check_range(begin, end)
        check_numbers(type(self).__name__, factor=factor, patience=patience,
                      threshold=threshold, cooldown=cooldown, eps=eps)
        if not by_epoch:
            raise ValueError(f'{type(self).__name__} only supports '
                             'by_epoch=True')
        if factor >= 1.0:
            raise ValueError(f'factor should be < 1.0, but got {factor!r}')
        if threshold < 0:
            raise ValueError(f'threshold {threshold!r} should be >= 0')
        if rule not in ('less', 'greater'):
            raise ValueError(f'rule should be "less" or "greater", but got '
                             f'{rule!r}')
        if threshold_rule not in ('rel', 'abs'):
            raise ValueError('threshold_rule should be "rel" or "abs", but '
                             f'got {threshold_rule!r}')
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        _init_base_values(optimizer, param_name, last_step)
        self.last_step = last_step
        self._global_step = 0
        self.verbose = verbose
        self.factor = factor

        # Several param groups put a base-settings pseudo group last in the
        # wrapper; its minimum is the last group's.
        raw = (optimizer.optimizer
               if isinstance(optimizer, BaseOptimWrapper) else optimizer)
        if isinstance(min_value, (list, tuple)):
            if len(min_value) != len(raw.param_groups):
                raise ValueError(f'expected {len(raw.param_groups)} min '
                                 f'values, got {len(min_value)}')
            self.min_values = list(min_value)
            if (isinstance(optimizer, BaseOptimWrapper)
                    and optimizer.base_param_settings is not None):
                self.min_values.append(self.min_values[-1])
        else:
            self.min_values = [min_value] * len(optimizer.param_groups)

        self.patience = patience
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self.eps = eps
        self.monitor = monitor
        self.rule = rule
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.rule_worse = INF if rule == 'less' else -INF
        self.best = self.rule_worse
        self._last_value = self._current_values()

    @classmethod
    def build_iter_from_epoch(cls, *args, **kwargs):
        raise ValueError(f'{cls.__name__} only supports by_epoch=True and '
                         'cannot be converted to iterations')

    def step(self, metrics: Optional[dict] = None) -> None:
        """Without metrics, count the epoch; with them, judge the monitored
        value and reduce after more than ``patience`` bad evaluations."""
        if metrics is None:
            self._global_step += 1
            return
        if not isinstance(metrics, dict):
            raise TypeError('metrics should be a dict, but got '
                            f'{type(metrics).__name__}')
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            if self.monitor not in metrics:
                raise KeyError(f'monitor {self.monitor!r} is not in the '
                               f'metrics {list(metrics)}')
            metric = metrics[self.monitor]
            if self._is_better(metric, self.best):
                self.best = metric
                self.num_bad_epochs = 0
            else:
                self.num_bad_epochs += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0
            if self.num_bad_epochs > self.patience:
                groups = self.optimizer.param_groups
                for i, (group, value) in enumerate(
                        zip(groups, self._get_value())):
                    if group[self.param_name] - value > self.eps:
                        group[self.param_name] = value
                        self.print_value(self.verbose, i, value)
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
        self._last_value = self._current_values()

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        if is_verbose:
            unit = 'epoch' if self.by_epoch else 'iter'
            print_log(f'Adjusting parameter value of group {group} to '
                      f'{value:.4e} in {unit} {self.last_step}.',
                      logger='current')

    def _get_value(self) -> list:
        return [
            max(float(v) * self.factor, min_v)
            for v, min_v in zip(self._current_values(), self.min_values)
        ]

    def _is_better(self, a, best) -> bool:
        if self.rule == 'less':
            if self.threshold_rule == 'rel':
                return a < best * (1. - self.threshold)
            return a < best - self.threshold
        if self.threshold_rule == 'rel':
            return a > best * (self.threshold + 1.)
        return a > best + self.threshold
