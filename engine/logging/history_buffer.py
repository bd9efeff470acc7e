"""HistoryBuffer: the recent values of one logged scalar and their counts.

Values may arrive as 0-dim tensors straight from the model (on the GPU).
Converting each to a float at once would force a host-device sync on every
iteration; instead they are kept as they are and converted (tensors on a
device with a single read for all) the first time a statistic is asked for,
which the logger does only at its interval. The statistics are computed with
numpy exactly as mmengine does (``sum(values[-n:]) / sum(counts[-n:])``), so
the logged floats are equal.

mmengine grows its arrays with ``np.append`` on every update, which copies
the whole history each time: quadratic in the length of the run. Here the
converted history lives in arrays with spare room at the end (grown by a
quarter when full), so storing a value costs O(1) amortized whatever the
run's length.
"""
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

_Tensor = torch.Tensor
_add_reduce = np.add.reduce

# Pending values are converted once this many have piled up even if no
# statistic was asked for, so a run that never logs keeps no tensors alive.
PENDING_LIMIT = 1024


def _check_window(window_size: Optional[int], length: int) -> int:
    if window_size is None:
        return length
    if not isinstance(window_size, int):
        raise TypeError(
            f'window_size must be an int or None, got '
            f'{type(window_size).__name__}')
    return window_size


class ScaledValue:
    """A logged value equal to ``float(value) * factor``, multiplied when
    the history is read.

    Weighted logging records ``mean * count`` with count ``count``, so that
    the window mean ``sum(values) / sum(counts)`` is the weighted average.
    For a tensor mean that product would take tensor operations (a float64
    copy, a multiplication) on every iteration; the product of its host
    value is the very same float, one multiplication at the log interval.

    Args:
        value: a number or a one-element tensor (detached, never read here).
        factor: the multiplier, usually the sample count.
    """

    __slots__ = ('value', 'factor')

    def __init__(self, value: Any, factor: Any) -> None:
        self.value = check_log_value(value)
        self.factor = factor

    def __float__(self) -> float:
        return float(self.value) * self.factor

    def __repr__(self) -> str:
        return f'ScaledValue({self.value!r}, {self.factor!r})'


def weighted_value(value: Any, count: int) -> Any:
    """``value * count`` in float64, the product a weighted average sums
    (mmcv's ``np.array(values) * nums``).

    A number is multiplied now; a tensor is neither read nor multiplied
    (that would be a host read, or two tensor operations, per iteration):
    its :class:`ScaledValue` gives the same float64 product when the
    history is read.
    """
    cls = value.__class__
    if cls is float or cls is int:
        return value * count
    if isinstance(value, _Tensor):
        return ScaledValue(value, count)
    return float(value) * count


def to_numbers(values: list) -> list:
    """Python numbers for pending values (the floats ``item()`` gives, times
    the factor of a :class:`ScaledValue`).

    A tensor on the CPU is read with ``item()``, the cheapest read there.
    Tensors on a device are read together when they share dtype, device
    and shape: one ``stack(...).tolist()``, a single host-device sync
    instead of one per value.
    """
    numbers = list(values)
    remote = []  # (index, device tensor, factor or None)
    for i, value in enumerate(numbers):
        cls = value.__class__
        if cls is float or cls is int:
            continue
        factor = None
        if cls is ScaledValue:
            value, factor = value.value, value.factor
        if isinstance(value, _Tensor):
            if not value.is_cpu:
                remote.append((i, value, factor))
                continue
            value = value.item()
        numbers[i] = value if factor is None else float(value) * factor
    if remote:
        tensors = [t for _, t, _ in remote]
        first = tensors[0]
        if len(tensors) > 1 and all(
                t.dtype == first.dtype and t.device == first.device
                and t.shape == first.shape for t in tensors):
            read = torch.stack(tensors).reshape(-1).tolist()
        else:
            read = [t.item() for t in tensors]
        for (i, _, factor), value in zip(remote, read):
            numbers[i] = value if factor is None else float(value) * factor
    return numbers


def check_log_value(value: Any) -> Any:
    """Validate a value for :meth:`HistoryBuffer.update` without syncing.

    Returns the value to store: numbers (and :class:`ScaledValue`) as they
    are, a one-element tensor detached (so the autograd graph is not kept
    alive until the next log), numpy scalars and one-element arrays as
    Python numbers.
    """
    if isinstance(value, _Tensor):
        if value.numel() != 1:
            raise ValueError(
                f'a logged value must have one element, got a tensor of '
                f'shape {tuple(value.shape)}')
        return value.detach() if value.requires_grad else value
    if isinstance(value, (np.ndarray, np.generic)):
        if value.size != 1:
            raise ValueError(
                f'a logged value must have one element, got an array of '
                f'shape {value.shape}')
        return value.item()
    if isinstance(value, (int, float, ScaledValue)):  # bool and subclasses
        return value
    raise TypeError(
        f'a logged value must be an int, float, one-element tensor or numpy '
        f'value, got {type(value).__name__}')


_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


def _to_array(values: Any) -> np.ndarray:
    """A numpy copy of saved values (a tensor or a sequence)."""
    return np.array(values.numpy() if isinstance(values, _Tensor) else values)


def _dtype_of(values: list) -> np.dtype:
    """The dtype ``np.array(values)`` would have, cheaply for the usual
    all-float or all-int lists."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        if float in kinds:
            return _FLOAT64
        if int in kinds:
            return _INT64
    return np.array(values).dtype


class _Column:
    """A growable 1-D array: the live values are ``array[start:end]``.

    Appending writes into spare room after ``end`` (views handed out
    earlier cover ``[start:end]`` only, so they never change); when there is
    none, or the dtype must widen, a new array a quarter larger than the
    live values is made (each value is thus copied about four times over
    its life, and the spare room costs at most a quarter more memory than
    mmengine's exact-size arrays). Dropping the oldest values just moves
    ``start``.
    """

    __slots__ = ('array', 'start', 'end')

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.start = 0
        self.end = len(array)

    def view(self) -> np.ndarray:
        return self.array[self.start:self.end]

    def tail(self, window: int) -> np.ndarray:
        """``view()[-window:]``, in one slicing for a positive window."""
        if window > 0:
            return self.array[max(self.start, self.end - window):self.end]
        return self.view()[-window:]

    def extend(self,
               values: list,
               max_length: int,
               new_dtype: Optional[np.dtype] = None) -> None:
        """Append ``values`` (Python numbers, at most ``max_length``; their
        dtype when known) and keep the last ``max_length``; the dtype widens
        as ``np.append`` would."""
        count = len(values)
        keep = min(self.end - self.start, max_length - count)
        start = self.end - keep
        old = self.array
        dtype = old.dtype
        if new_dtype is None:
            new_dtype = _dtype_of(values)
        if new_dtype != dtype:
            dtype = np.result_type(dtype, new_dtype)
        if dtype == old.dtype and self.end + count <= len(old):
            old[self.end:self.end + count] = values
            self.start, self.end = start, self.end + count
            return
        size = keep + count
        array = np.empty(max(size + size // 4, 64), dtype)
        array[:keep] = old[start:self.end]
        array[keep:size] = np.array(values, new_dtype)
        self.array, self.start, self.end = array, 0, size


class HistoryBuffer:
    """The history of one scalar: values, counts and statistics over them.

    Args:
        log_history: initial values.
        count_history: initial counts (one per value).
        max_length: the number of most recent values kept.
    """

    _statistics_methods: Dict[str, Callable] = {}

    def __init__(self,
                 log_history: Sequence = (),
                 count_history: Sequence = (),
                 max_length: int = 1000000):
        if len(log_history) != len(count_history):
            raise ValueError(
                f'log_history and count_history must have the same length, '
                f'got {len(log_history)} and {len(count_history)}')
        self.max_length = max_length
        # Values not yet converted to numbers, oldest first.
        self._pending_logs: list = [
            check_log_value(v) for v in log_history[-max_length:]
        ]
        self._pending_counts: list = list(count_history[-max_length:])
        # Whether every pending value is a Python float and every pending
        # count an int: the usual case, converted without looking at them.
        self._floats = all(v.__class__ is float for v in self._pending_logs)
        self._int_counts = all(c.__class__ is int
                               for c in self._pending_counts)
        # Converted values. Like mmengine, an empty history is float64 and
        # later values widen it; a history created with values takes their
        # own dtype (np.array(values)), hence None until they are converted.
        self._logs: Optional[_Column] = None
        # Counts are nearly always 1: while they all are, they are not
        # stored, only their dtype (_unit_dtype); _counts is then None.
        self._counts: Optional[_Column] = None
        self._unit_dtype: Optional[np.dtype] = None
        if not self._pending_logs:
            self._logs = _Column(np.array([]))
            self._unit_dtype = _FLOAT64

    def update(self, log_val: Any, count: int = 1) -> None:
        """Append a value (an int, a float or a one-element tensor).

        Tensors are stored without being read; the buffer never holds more
        than ``max_length`` values.
        """
        if log_val.__class__ is not float:
            if log_val.__class__ is not ScaledValue:  # checked when made
                log_val = check_log_value(log_val)
            self._floats = False
        if count.__class__ is not int:
            if not isinstance(count, (int, float)):
                raise TypeError(
                    f'count must be an int, got {type(count).__name__}')
            self._int_counts = False
        # (MessageHub.update_scalar appends floats with these same lines.)
        pending = self._pending_logs
        pending.append(log_val)
        self._pending_counts.append(count)
        if len(pending) >= PENDING_LIMIT:
            self._materialize()

    def _materialize(self) -> None:
        """Convert pending values and append them to the numpy history."""
        logs = self._pending_logs
        if not logs:
            return
        counts = self._pending_counts
        limit = self.max_length
        if len(logs) > limit:
            logs, counts = logs[-limit:], counts[-limit:]
        floats, int_counts = self._floats, self._int_counts
        if not floats:
            logs = to_numbers(logs)
        self._pending_logs = []
        self._pending_counts = []
        self._floats = self._int_counts = True
        units = int_counts and counts.count(1) == len(counts)
        if self._logs is None:
            self._logs = _Column(np.array(logs))
            if units:
                self._unit_dtype = np.array(counts).dtype
            else:
                self._counts = _Column(np.array(counts))
            return
        if self._unit_dtype is not None and not units:
            # the first count other than 1: store the ones so far
            self._counts = _Column(
                np.ones(self._logs.end - self._logs.start, self._unit_dtype))
            self._unit_dtype = None
        self._logs.extend(logs, limit, _FLOAT64 if floats else None)
        if self._counts is not None:
            self._counts.extend(counts, limit, _INT64 if int_counts else None)

    def _count_tail(self, window: int) -> np.ndarray:
        """``counts[-window:]``."""
        if self._counts is not None:
            return self._counts.tail(window)
        return np.ones(len(self._logs.tail(window)), self._unit_dtype)

    @property
    def data(self) -> Tuple[np.ndarray, np.ndarray]:
        """(values, counts) as numpy arrays."""
        self._materialize()
        logs = self._logs.view()
        if self._counts is None:
            return logs, np.ones(len(logs), self._unit_dtype)
        return logs, self._counts.view()

    def __len__(self) -> int:
        logs = self._logs
        done = 0 if logs is None else logs.end - logs.start
        return min(done + len(self._pending_logs), self.max_length)

    @classmethod
    def register_statistics(cls, method: Callable) -> Callable:
        """Make ``method(buffer, *args)`` callable as
        ``buffer.statistics(method.__name__, *args)``."""
        name = method.__name__
        if name in cls._statistics_methods:
            raise KeyError(f'statistics method {name!r} is already registered')
        cls._statistics_methods[name] = method
        return method

    def statistics(self, method_name: str, *args, **kwargs) -> Any:
        """Call a statistic by name ('mean', 'max', 'min', 'current' or a
        registered one)."""
        method = self._statistics_methods.get(method_name)
        if method is None:
            raise KeyError(
                f'{method_name!r} is not a HistoryBuffer statistic; known: '
                f'{sorted(self._statistics_methods)}')
        return method(self, *args, **kwargs)

    # The statistics slice the columns directly: at the log interval,
    # after the model's work has left the caches cold, every numpy call
    # counts.
    def _converted(self) -> _Column:
        if self._pending_logs:
            self._materialize()
        return self._logs

    def mean(self, window_size: Optional[int] = None) -> np.ndarray:
        """Sum of the last ``window_size`` values over the sum of their
        counts (all values when None)."""
        logs = self._converted()
        window = _check_window(window_size, logs.end - logs.start)
        values = logs.tail(window)
        # np.add.reduce is what ndarray.sum() runs, without its wrappers.
        if self._counts is None and len(values):
            # The counts are ones: their sum is the window's length, and
            # dividing by that int gives the very float dividing by the sum
            # of an int or float array of ones gives.
            return _add_reduce(values) / len(values)
        return _add_reduce(values) / _add_reduce(self._count_tail(window))

    def max(self, window_size: Optional[int] = None) -> np.ndarray:
        logs = self._converted()
        return logs.tail(_check_window(window_size,
                                       logs.end - logs.start)).max()

    def min(self, window_size: Optional[int] = None) -> np.ndarray:
        logs = self._converted()
        return logs.tail(_check_window(window_size,
                                       logs.end - logs.start)).min()

    def current(self) -> np.ndarray:
        """The latest value."""
        logs = self._converted()
        if logs.end == logs.start:
            raise ValueError(
                'HistoryBuffer is empty: call update() before current()')
        return logs.array[logs.end - 1]

    def state_dict(self) -> dict:
        """Plain, safely loadable state: values and counts as tensors (their
        numpy dtype is kept exactly)."""
        logs, counts = self.data
        return dict(
            log_history=torch.from_numpy(np.array(logs)),
            count_history=torch.from_numpy(np.array(counts)),
            max_length=self.max_length)

    @classmethod
    def from_state_dict(cls, state: dict) -> 'HistoryBuffer':
        """Rebuild a buffer saved by :meth:`state_dict`."""
        try:
            logs, counts = state['log_history'], state['count_history']
            max_length = int(state.get('max_length', 1000000))
        except (KeyError, TypeError, AttributeError):
            raise ValueError(
                f'a HistoryBuffer state needs log_history and count_history, '
                f'got {state!r}') from None
        buffer = cls(max_length=max_length)
        buffer._logs = _Column(_to_array(logs))
        buffer._counts = _Column(_to_array(counts))
        buffer._unit_dtype = None
        return buffer


for _name in ('min', 'max', 'current', 'mean'):
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
