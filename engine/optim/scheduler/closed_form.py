"""mmcv 1.7.2's learning-rate and momentum policies as closed forms.

mmcv's ``LrUpdaterHook`` / ``MomentumUpdaterHook`` families compute each
value from the group's base value and the run's progress; nothing depends on
the previous value. This module reproduces those formulas with mmcv's exact
floating-point operation order, so that ``legacy``'s hooks and the engine's
:class:`ClosedFormLR` / :class:`ClosedFormMomentum` (what
``compat.migrate_config`` emits for ``lr_config`` / ``momentum_config``)
give the same floats as an mmcv run at every iteration.

Configs are mmcv's ``lr_config`` / ``momentum_config`` dicts: a ``policy``
(``'step'``, ``'CosineAnnealing'``, ... ; an all-lowercase name is
title-cased as mmcv does) plus the hook's keyword arguments.

API (``cfg`` is such a dict; ``epoch``/``iter`` are 0-based and name the
iteration about to run; ``max_epochs``, ``max_iters``, ``epoch_length`` may be
None when the policy does not need them):

``lr_schedule(cfg) -> Schedule`` / ``momentum_schedule(cfg) -> Schedule``
    validate and compile a config once (cheap to evaluate afterwards).
``Schedule.base_values(initial_values, name=None) -> list``
    per-group base values as mmcv derives them: the groups' initial values,
    except OneCycle: ``max_lr / div_factor`` for the learning rate and
    ``(base_momentum, max_momentum)`` pairs for the momentum. ``name`` picks
    the entry of a per-optimizer dict (mmcv: the runner's optimizer key, or
    the optimizer class name for a single optimizer).
``Schedule.value(base, epoch, iter, max_epochs, max_iters, epoch_length)``
    the value mmcv has set in the group when iteration ``iter`` runs:
    with ``by_epoch`` the policy is evaluated at ``epoch`` (mmcv sets it at
    the epoch start), otherwise at ``iter``; during warm-up
    (``iter < warmup_iters``, counted in iterations; ``warmup_by_epoch``
    multiplies ``warmup_iters`` by ``epoch_length``) the warm-up factor is
    applied to that value.
``Schedule.regular(base, epoch, iter, max_epochs, max_iters)`` and
``Schedule.warm(regular_value, iter, warmup_iters)``
    the two halves of ``value`` (mmcv's ``get_lr`` and ``get_warmup_lr``).
``Schedule.warmup_length(epoch_length) -> int``
    the warm-up length in iterations (0 without warm-up).
``lr_at(cfg, base_lr, epoch, iter, max_epochs, max_iters, epoch_length=None)``
and ``momentum_at(...)``: one-shot forms of ``value``.
"""
import numbers
from math import cos, pi
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

LR = 'lr'
MOMENTUM = 'momentum'

_LR_COMMON = dict(by_epoch=True, warmup=None, warmup_iters=0,
                  warmup_ratio=0.1, warmup_by_epoch=False)
_MOMENTUM_COMMON = dict(by_epoch=True, warmup=None, warmup_iters=0,
                        warmup_ratio=0.9)
_REQUIRED = object()

# policy -> (option defaults; _REQUIRED marks mandatory ones)
_LR_POLICIES: Dict[str, Dict[str, Any]] = {
    'Fixed': {},
    'Step': dict(step=_REQUIRED, gamma=0.1, min_lr=None),
    'Exp': dict(gamma=_REQUIRED),
    'Poly': dict(power=1., min_lr=0.),
    'Inv': dict(gamma=_REQUIRED, power=1.),
    'CosineAnnealing': dict(min_lr=None, min_lr_ratio=None),
    'FlatCosineAnnealing': dict(start_percent=0.75, min_lr=None,
                                min_lr_ratio=None),
    'CosineRestart': dict(periods=_REQUIRED, restart_weights=[1],
                          min_lr=None, min_lr_ratio=None),
    'Cyclic': dict(by_epoch=False, target_ratio=(10, 1e-4), cyclic_times=1,
                   step_ratio_up=0.4, anneal_strategy='cos', gamma=1),
    'OneCycle': dict(by_epoch=False, max_lr=_REQUIRED, total_steps=None,
                     pct_start=0.3, anneal_strategy='cos', div_factor=25,
                     final_div_factor=1e4, three_phase=False),
    'LinearAnnealing': dict(min_lr=None, min_lr_ratio=None),
}
_MOMENTUM_POLICIES: Dict[str, Dict[str, Any]] = {
    'Step': dict(step=_REQUIRED, gamma=0.5, min_momentum=None),
    'CosineAnnealing': dict(min_momentum=None, min_momentum_ratio=None),
    'LinearAnnealing': dict(min_momentum=None, min_momentum_ratio=None),
    'Cyclic': dict(by_epoch=False, target_ratio=(0.85 / 0.95, 1.),
                   cyclic_times=1, step_ratio_up=0.4, anneal_strategy='cos',
                   gamma=1.),
    'OneCycle': dict(by_epoch=False, base_momentum=0.85, max_momentum=0.95,
                     pct_start=0.3, anneal_strategy='cos', three_phase=False),
}


def annealing_cos(start: float, end: float, factor: float,
                  weight: float = 1.) -> float:
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1), mmcv's order."""
    cos_out = cos(pi * factor) + 1
    return end + 0.5 * weight * (start - end) * cos_out


def annealing_linear(start: float, end: float, factor: float) -> float:
    """Linear from ``start`` (factor 0) to ``end`` (factor 1), mmcv's order."""
    return start + (end - start) * factor


_ANNEAL = {'cos': annealing_cos, 'linear': annealing_linear}


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_param(name: Optional[str], num_groups: int, param) -> list:
    """Expand a number, a per-group list or a per-optimizer dict into one
    value per parameter group, as mmcv's ``format_param``; ``name`` is the
    optimizer's key in such a dict."""
    if _is_number(param):
        return [param] * num_groups
    if isinstance(param, (list, tuple)):
        if len(param) != num_groups:
            raise ValueError(f'expected {num_groups} values (one per '
                             f'parameter group) for optimizer {name}, got '
                             f'{len(param)}: {param!r}')
        return list(param)
    if isinstance(param, Mapping):
        if name not in param:
            raise KeyError(f'optimizer {name!r} is not found in {list(param)}')
        return format_param(name, num_groups, param[name])
    raise TypeError('expected a number, a list of them (per parameter group) '
                    f'or a dict of those (per optimizer), but got {param!r}')


def _normalize_policy(policy: Any, kind: str) -> str:
    table = _LR_POLICIES if kind == LR else _MOMENTUM_POLICIES
    if not isinstance(policy, str):
        raise TypeError(f'{kind} policy should be a string, but got '
                        f'{policy!r}')
    name = policy.title() if policy == policy.lower() else policy
    if name not in table:
        raise ValueError(f'unknown {kind} policy {policy!r}; mmcv 1.7.2 '
                         f'knows {sorted(table)}')
    return name


def _check_target(options: dict, policy: str, kind: str) -> None:
    """Exactly one of min_<kind> / min_<kind>_ratio (mmcv asserts it)."""
    key = 'min_lr' if kind == LR else 'min_momentum'
    if (options[key] is None) == (options[f'{key}_ratio'] is None):
        raise ValueError(f'{policy} {kind} policy needs exactly one of '
                         f'{key} and {key}_ratio, got {key}='
                         f'{options[key]!r}, {key}_ratio='
                         f'{options[key + "_ratio"]!r}')


def _validate_step(step: Any) -> None:
    if isinstance(step, bool) or not (
            isinstance(step, int) or
        (isinstance(step, (list, tuple))
         and all(isinstance(s, int) and not isinstance(s, bool)
                 for s in step))):
        raise TypeError(f'"step" must be an int or a list of ints, but got '
                        f'{step!r}')
    if any(s <= 0 for s in ([step] if isinstance(step, int) else step)):
        raise ValueError(f'"step" values must be positive, but got {step!r}')


def _target_ratio(value: Any) -> Tuple[float, float]:
    # mmcv accepts a float or a tuple; lists (JSON/YAML configs) are taken as
    # tuples here.
    if isinstance(value, float):
        return (value, value / 1e5)
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return (value[0], value[0] / 1e5)
        if len(value) == 2:
            return (value[0], value[1])
    raise ValueError('target_ratio should be a float or a tuple of one or two'
                     f' floats, but got {value!r}')


def _check_pct_start(pct_start: Any, policy: str) -> None:
    if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
        raise ValueError(f'{policy}: expected a float between 0 and 1 for '
                         f'pct_start, but got {pct_start!r}')


def _check_anneal(strategy: Any, policy: str) -> None:
    if strategy not in _ANNEAL:
        raise ValueError(f'{policy}: anneal_strategy must be "cos" or '
                         f'"linear", but got {strategy!r}')


_NUMERIC_OPTIONS = frozenset({
    'gamma', 'min_lr', 'min_lr_ratio', 'power', 'start_percent',
    'cyclic_times', 'step_ratio_up', 'total_steps', 'pct_start', 'div_factor',
    'final_div_factor', 'warmup_iters', 'warmup_ratio', 'min_momentum',
    'min_momentum_ratio'
})


def _check_types(options: dict, policy: str, kind: str) -> None:
    """Numbers where numbers are expected, before any arithmetic fails
    with a less helpful message."""
    for key, value in options.items():
        if key in _NUMERIC_OPTIONS and value is not None and not _is_number(
                value):
            raise TypeError(f'{policy} {kind} policy: {key} should be a '
                            f'number, but got {value!r}')
    for key in ('periods', 'restart_weights'):
        value = options.get(key)
        if value is not None and not (isinstance(value, (list, tuple)) and
                                      all(_is_number(v) for v in value)):
            raise TypeError(f'{policy} {kind} policy: {key} should be a list '
                            f'of numbers, but got {value!r}')


def _need(value: Optional[int], what: str, policy: str) -> int:
    if value is None:
        raise ValueError(f'the {policy} policy needs {what}, which was not '
                         'given')
    return value


class Schedule:
    """A validated mmcv lr or momentum policy (see the module docstring)."""

    def __init__(self, cfg: Mapping, kind: str):
        if not isinstance(cfg, Mapping):
            raise TypeError(f'{kind} config should be a dict, but got '
                            f'{type(cfg).__name__}: {cfg!r}')
        options = dict(cfg)
        if 'policy' not in options:
            raise KeyError(f'{kind} config needs a "policy" key, got keys '
                           f'{sorted(options)}')
        self.kind = kind
        self.policy = _normalize_policy(options.pop('policy'), kind)
        table = _LR_POLICIES if kind == LR else _MOMENTUM_POLICIES
        common = _LR_COMMON if kind == LR else _MOMENTUM_COMMON
        defaults = {**common, **table[self.policy]}
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise TypeError(f'{self.policy} {kind} policy got unexpected '
                            f'option(s) {unknown}; accepted: '
                            f'{sorted(defaults)}')
        merged = {**defaults, **options}
        missing = sorted(k for k, v in merged.items() if v is _REQUIRED)
        if missing:
            raise KeyError(f'{self.policy} {kind} policy needs option(s) '
                           f'{missing}')
        _check_types(merged, self.policy, kind)
        self.options = merged
        self.by_epoch = bool(merged.pop('by_epoch'))
        self.warmup = merged.pop('warmup')
        self.warmup_iters = merged.pop('warmup_iters')
        self.warmup_ratio = merged.pop('warmup_ratio')
        self.warmup_by_epoch = bool(merged.pop('warmup_by_epoch', False))
        self._check_warmup()
        self._regular: Callable = getattr(
            self, f'_{kind}_{self.policy.lower()}')
        check = getattr(self, f'_check_{self.policy.lower()}', None)
        if check is not None:
            check(merged)

    def _check_warmup(self) -> None:
        if self.warmup is None:
            return
        if self.warmup not in ('constant', 'linear', 'exp'):
            raise ValueError(f'"{self.warmup}" is not a supported type for '
                             'warming up, valid types are "constant", '
                             '"linear" and "exp"')
        if not isinstance(self.warmup_iters, int) or self.warmup_iters <= 0:
            raise ValueError('"warmup_iters" must be a positive integer, got '
                             f'{self.warmup_iters!r}')
        if not 0 < self.warmup_ratio <= 1.0:
            raise ValueError('"warmup_ratio" must be in range (0,1], got '
                             f'{self.warmup_ratio!r}')

    # -- option checks (mmcv's constructor assertions) ----------------------

    def _check_step(self, o: dict) -> None:
        _validate_step(o['step'])

    def _check_cosineannealing(self, o: dict) -> None:
        _check_target(o, self.policy, self.kind)

    _check_linearannealing = _check_cosineannealing

    def _check_flatcosineannealing(self, o: dict) -> None:
        _check_target(o, self.policy, self.kind)
        p = o['start_percent']
        if not isinstance(p, float) or not 0 <= p <= 1:
            raise ValueError('expected float between 0 and 1 start_percent, '
                             f'but got {p!r}')

    def _check_cosinerestart(self, o: dict) -> None:
        _check_target(o, self.policy, self.kind)
        if len(o['periods']) != len(o['restart_weights']):
            raise ValueError('periods and restart_weights should have the '
                             f'same length, got {o["periods"]!r} and '
                             f'{o["restart_weights"]!r}')
        periods = list(o['periods'])
        o['cumulative_periods'] = [
            sum(periods[:i + 1]) for i in range(len(periods))
        ]

    def _check_cyclic(self, o: dict) -> None:
        if self.by_epoch:
            raise ValueError('the Cyclic policy only supports by_epoch=False')
        o['target_ratio'] = _target_ratio(o['target_ratio'])
        if not 0 <= o['step_ratio_up'] < 1.0:
            raise ValueError('"step_ratio_up" must be in range [0,1), got '
                             f'{o["step_ratio_up"]!r}')
        if self.kind == LR and not 0 < o['gamma'] <= 1:
            raise ValueError(f'"gamma" must be in range (0, 1], got '
                             f'{o["gamma"]!r}')
        _check_anneal(o['anneal_strategy'], self.policy)

    def _check_onecycle(self, o: dict) -> None:
        if self.by_epoch:
            raise ValueError('the OneCycle policy only supports '
                             'by_epoch=False')
        _check_pct_start(o['pct_start'], self.policy)
        _check_anneal(o['anneal_strategy'], self.policy)
        total = o.get('total_steps')
        if total is not None and (not isinstance(total, int)
                                  or isinstance(total, bool)):
            raise ValueError('the type of total_steps must be int, but got '
                             f'{total!r}')

    # -- bases and warm-up ---------------------------------------------------

    def base_values(self, initial_values: Sequence[float],
                    name: Optional[str] = None) -> list:
        """Per-group base values (see the module docstring)."""
        if self.policy != 'OneCycle':
            return list(initial_values)
        n = len(initial_values)
        o = self.options
        if self.kind == LR:
            return [
                lr / o['div_factor']
                for lr in format_param(name, n, o['max_lr'])
            ]
        return list(
            zip(format_param(name, n, o['base_momentum']),
                format_param(name, n, o['max_momentum'])))

    def warmup_length(self, epoch_length: Optional[int] = None) -> int:
        """Warm-up length in iterations; 0 without warm-up."""
        if self.warmup is None:
            return 0
        if self.warmup_by_epoch:
            return self.warmup_iters * _need(epoch_length, 'epoch_length',
                                             'warmup_by_epoch')
        return self.warmup_iters

    def warm(self, regular: float, iter: int, warmup_iters: int) -> float:
        """Apply the warm-up factor at ``iter`` to a regular value."""
        ratio = self.warmup_ratio
        if self.kind == LR:
            if self.warmup == 'constant':
                return regular * ratio
            if self.warmup == 'linear':
                k = (1 - iter / warmup_iters) * (1 - ratio)
                return regular * (1 - k)
            return regular * ratio**(1 - iter / warmup_iters)
        if self.warmup == 'constant':
            return regular / ratio
        if self.warmup == 'linear':
            k = (1 - iter / warmup_iters) * (1 - ratio)
            return regular / (1 - k)
        return regular / ratio**(1 - iter / warmup_iters)

    def regular(self, base, epoch: int, iter: int,
                max_epochs: Optional[int], max_iters: Optional[int]) -> float:
        """The policy's value without warm-up (mmcv's ``get_lr``)."""
        return self._regular(base, epoch, iter, max_epochs, max_iters)

    def value(self,
              base,
              epoch: int,
              iter: int,
              max_epochs: Optional[int] = None,
              max_iters: Optional[int] = None,
              epoch_length: Optional[int] = None) -> float:
        """The value in force while iteration ``iter`` runs."""
        regular = self._regular(base, epoch, iter, max_epochs, max_iters)
        if self.warmup is not None:
            warmup_iters = self.warmup_length(epoch_length)
            if iter < warmup_iters:
                return self.warm(regular, iter, warmup_iters)
        return regular

    # -- policies --------------------------------------------------------------

    def _progress(self, epoch, iter, max_epochs, max_iters):
        if self.by_epoch:
            return epoch, _need(max_epochs, 'max_epochs', self.policy)
        return iter, _need(max_iters, 'max_iters', self.policy)

    def _target(self, base: float) -> float:
        key = 'min_lr' if self.kind == LR else 'min_momentum'
        ratio = self.options[f'{key}_ratio']
        return base * ratio if ratio is not None else self.options[key]

    def _stepped(self, base, epoch, iter, floor_key):
        o = self.options
        progress = epoch if self.by_epoch else iter
        step = o['step']
        if isinstance(step, int):
            exp = progress // step
        else:
            exp = len(step)
            for i, s in enumerate(step):
                if progress < s:
                    exp = i
                    break
        value = base * (o['gamma']**exp)
        if o[floor_key] is not None:
            value = max(value, o[floor_key])
        return value

    def _lr_fixed(self, base, epoch, iter, max_epochs, max_iters):
        return base

    def _lr_step(self, base, epoch, iter, max_epochs, max_iters):
        return self._stepped(base, epoch, iter, 'min_lr')

    def _momentum_step(self, base, epoch, iter, max_epochs, max_iters):
        return self._stepped(base, epoch, iter, 'min_momentum')

    def _lr_exp(self, base, epoch, iter, max_epochs, max_iters):
        progress = epoch if self.by_epoch else iter
        return base * self.options['gamma']**progress

    def _lr_poly(self, base, epoch, iter, max_epochs, max_iters):
        progress, max_progress = self._progress(epoch, iter, max_epochs,
                                                max_iters)
        min_lr = self.options['min_lr']
        coeff = (1 - progress / max_progress)**self.options['power']
        return (base - min_lr) * coeff + min_lr

    def _lr_inv(self, base, epoch, iter, max_epochs, max_iters):
        progress = epoch if self.by_epoch else iter
        o = self.options
        return base * (1 + o['gamma'] * progress)**(-o['power'])

    def _lr_cosineannealing(self, base, epoch, iter, max_epochs, max_iters):
        progress, max_progress = self._progress(epoch, iter, max_epochs,
                                                max_iters)
        return annealing_cos(base, self._target(base),
                             progress / max_progress)

    _momentum_cosineannealing = _lr_cosineannealing

    def _lr_linearannealing(self, base, epoch, iter, max_epochs, max_iters):
        progress, max_progress = self._progress(epoch, iter, max_epochs,
                                                max_iters)
        return annealing_linear(base, self._target(base),
                                progress / max_progress)

    _momentum_linearannealing = _lr_linearannealing

    def _lr_flatcosineannealing(self, base, epoch, iter, max_epochs,
                                max_iters):
        progress, max_progress = self._progress(epoch, iter, max_epochs,
                                                max_iters)
        start = round(max_progress * self.options['start_percent'])
        if progress - start < 0:
            return base
        return annealing_cos(base, self._target(base),
                             (progress - start) / (max_progress - start))

    def _lr_cosinerestart(self, base, epoch, iter, max_epochs, max_iters):
        o = self.options
        progress = epoch if self.by_epoch else iter
        cumulative = o['cumulative_periods']
        idx = next((i for i, p in enumerate(cumulative) if progress < p),
                   None)
        if idx is None:
            raise ValueError(f'Current iteration {progress} exceeds '
                             f'cumulative_periods {cumulative}')
        restart = 0 if idx == 0 else cumulative[idx - 1]
        alpha = min((progress - restart) / o['periods'][idx], 1)
        return annealing_cos(base, self._target(base), alpha,
                             o['restart_weights'][idx])

    def _cyclic(self, base, iter, max_iters):
        o = self.options
        per_phase = _need(max_iters, 'max_iters',
                          self.policy) // o['cyclic_times']
        up = int(o['step_ratio_up'] * per_phase)
        ratio_up, ratio_down = o['target_ratio']
        phases = ((0, up, 1, ratio_up), (up, per_phase, ratio_up, ratio_down))
        curr_iter = iter % per_phase
        scale = o['gamma']**(iter // per_phase)
        anneal = _ANNEAL[o['anneal_strategy']]
        for start_iter, end_iter, start_ratio, end_ratio in phases:
            if start_iter <= curr_iter < end_iter:
                if start_iter == 0:
                    end_ratio = 1 - scale + end_ratio * scale
                else:
                    start_ratio = 1 - scale + start_ratio * scale
                return anneal(base * start_ratio, base * end_ratio,
                              (curr_iter - start_iter) /
                              (end_iter - start_iter))
        raise ValueError(f'iteration {iter} falls in no Cyclic phase '
                         f'(max_iters={max_iters})')

    def _lr_cyclic(self, base, epoch, iter, max_epochs, max_iters):
        return self._cyclic(base, iter, max_iters)

    _momentum_cyclic = _lr_cyclic

    def _lr_onecycle(self, base, epoch, iter, max_epochs, max_iters):
        o = self.options
        max_iters = _need(max_iters, 'max_iters', self.policy)
        total = o['total_steps'] if o['total_steps'] is not None else max_iters
        if total < max_iters:
            raise ValueError('The total steps must be greater than or equal '
                             f'to max iterations {max_iters} of runner, but '
                             f'total steps is {total}.')
        pct, div = o['pct_start'], o['div_factor']
        if o['three_phase']:
            phases = ((float(pct * total) - 1, 1, div),
                      (float(2 * pct * total) - 2, div, 1),
                      (total - 1, 1, 1 / o['final_div_factor']))
        else:
            phases = ((float(pct * total) - 1, 1, div),
                      (total - 1, div, 1 / o['final_div_factor']))
        anneal = _ANNEAL[o['anneal_strategy']]
        start_iter = 0
        for end_iter, start_lr, end_lr in phases:
            if iter <= end_iter:
                return anneal(base * start_lr, base * end_lr,
                              (iter - start_iter) / (end_iter - start_iter))
            start_iter = end_iter
        raise ValueError(f'iteration {iter} is past the OneCycle schedule of '
                         f'{total} steps')

    def _momentum_onecycle(self, base, epoch, iter, max_epochs, max_iters):
        base_momentum, max_momentum = base
        o = self.options
        max_iters = _need(max_iters, 'max_iters', self.policy)
        pct = o['pct_start']
        if o['three_phase']:
            phases = ((float(pct * max_iters) - 1, max_momentum,
                       base_momentum),
                      (float(2 * pct * max_iters) - 2, base_momentum,
                       max_momentum),
                      (max_iters - 1, max_momentum, max_momentum))
        else:
            phases = ((float(pct * max_iters) - 1, max_momentum,
                       base_momentum),
                      (max_iters - 1, base_momentum, max_momentum))
        anneal = _ANNEAL[o['anneal_strategy']]
        start_iter = 0
        for i, (end_iter, start, end) in enumerate(phases):
            if iter <= end_iter or i == len(phases) - 1:
                return anneal(start, end,
                              (iter - start_iter) / (end_iter - start_iter))
            start_iter = end_iter
        raise AssertionError('unreachable: the last phase always matches')


def lr_schedule(cfg: Mapping) -> Schedule:
    """Compile an mmcv ``lr_config`` dict."""
    return Schedule(cfg, LR)


def momentum_schedule(cfg: Mapping) -> Schedule:
    """Compile an mmcv ``momentum_config`` dict."""
    return Schedule(cfg, MOMENTUM)


def lr_at(cfg: Mapping,
          base_lr: float,
          epoch: int,
          iter: int,
          max_epochs: Optional[int] = None,
          max_iters: Optional[int] = None,
          epoch_length: Optional[int] = None) -> float:
    """The learning rate mmcv sets for iteration ``iter`` (one-shot form)."""
    return lr_schedule(cfg).value(base_lr, epoch, iter, max_epochs,
                                  max_iters, epoch_length)


def momentum_at(cfg: Mapping,
                base_momentum,
                epoch: int,
                iter: int,
                max_epochs: Optional[int] = None,
                max_iters: Optional[int] = None,
                epoch_length: Optional[int] = None) -> float:
    """The momentum mmcv sets for iteration ``iter`` (one-shot form)."""
    return momentum_schedule(cfg).value(base_momentum, epoch, iter,
                                        max_epochs, max_iters, epoch_length)
