"""HistoryBuffer: the recent values of one logged scalar and their counts.

Values may arrive as 0-dim tensors straight from the model (on the GPU).
Converting each to a float at once would force a host-device sync on every
iteration; instead they are kept as they are and converted together the
first time a statistic is asked for, which the logger does only at its
interval. The statistics are computed with numpy exactly as mmengine does
(``sum(values[-n:]) / sum(counts[-n:])``), so the logged floats are equal.
"""
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

_Tensor = torch.Tensor


def _check_window(window_size: Optional[int], length: int) -> int:
    if window_size is None:
        return length
    if not isinstance(window_size, int):
        raise TypeError(
            f'window_size must be an int or None, got '
            f'{type(window_size).__name__}')
    return window_size


def _to_number(value: Any) -> Any:
    """Python int/float of a pending value (tensors are item()-ed here)."""
    return value if isinstance(value, (int, float)) else value.item()


def check_log_value(value: Any) -> Any:
    """Validate a value for :meth:`HistoryBuffer.update` without syncing.

    Returns the value to store: numbers as they are, a one-element tensor
    detached (so the autograd graph is not kept alive until the next log),
    numpy scalars and one-element arrays as Python numbers.
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
    if isinstance(value, (int, float)):  # bool and other subclasses
        return value
    raise TypeError(
        f'a logged value must be an int, float, one-element tensor or numpy '
        f'value, got {type(value).__name__}')


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
        # Converted values; like mmengine, an empty history is float64.
        self._log_history = np.array([])
        self._count_history = np.array([])
        if self._pending_logs:
            self._log_history = None
            self._count_history = None

    def update(self, log_val: Any, count: int = 1) -> None:
        """Append a value (an int, a float or a one-element tensor).

        Tensors are stored without being read; the buffer never holds more
        than ``max_length`` values.
        """
        if log_val.__class__ is not float and log_val.__class__ is not int:
            log_val = check_log_value(log_val)
        if count.__class__ is not int and not isinstance(count, (int, float)):
            raise TypeError(
                f'count must be an int, got {type(count).__name__}')
        pending = self._pending_logs
        pending.append(log_val)
        self._pending_counts.append(count)
        if len(pending) > self.max_length:
            # Everything already converted is older than these values; keep
            # the arrays' dtype, which later appends promote from.
            del pending[:-self.max_length]
            del self._pending_counts[:-self.max_length]
            if self._log_history is not None:
                self._log_history = self._log_history[:0]
                self._count_history = self._count_history[:0]

    def _materialize(self) -> None:
        """Convert pending values and append them to the numpy history."""
        if not self._pending_logs:
            return
        logs = [_to_number(v) for v in self._pending_logs]
        counts = self._pending_counts
        if self._log_history is None:
            # Created with values: their own dtype (int or float), as
            # np.array(history) gives in mmengine.
            self._log_history = np.array(logs)
            self._count_history = np.array(counts)
        else:
            self._log_history = np.append(self._log_history, logs)
            self._count_history = np.append(self._count_history, counts)
        self._pending_logs = []
        self._pending_counts = []
        if len(self._log_history) > self.max_length:
            self._log_history = self._log_history[-self.max_length:]
            self._count_history = self._count_history[-self.max_length:]

    @property
    def data(self) -> Tuple[np.ndarray, np.ndarray]:
        """(values, counts) as numpy arrays."""
        self._materialize()
        return self._log_history, self._count_history

    def __len__(self) -> int:
        done = 0 if self._log_history is None else len(self._log_history)
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

    def mean(self, window_size: Optional[int] = None) -> np.ndarray:
        """Sum of the last ``window_size`` values over the sum of their
        counts (all values when None)."""
        logs, counts = self.data
        window = _check_window(window_size, len(logs))
        return logs[-window:].sum() / counts[-window:].sum()

    def max(self, window_size: Optional[int] = None) -> np.ndarray:
        logs, _ = self.data
        return logs[-_check_window(window_size, len(logs)):].max()

    def min(self, window_size: Optional[int] = None) -> np.ndarray:
        logs, _ = self.data
        return logs[-_check_window(window_size, len(logs)):].min()

    def current(self) -> np.ndarray:
        """The latest value."""
        logs, _ = self.data
        if len(logs) == 0:
            raise ValueError(
                'HistoryBuffer is empty: call update() before current()')
        return logs[-1]

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
        buffer._log_history = np.asarray(
            logs.numpy() if isinstance(logs, _Tensor) else logs)
        buffer._count_history = np.asarray(
            counts.numpy() if isinstance(counts, _Tensor) else counts)
        return buffer


for _name in ('min', 'max', 'current', 'mean'):
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
