"""MessageHub: where loops, hooks and models leave numbers for each other.

Scalars (losses, learning rates, times) are kept as :class:`HistoryBuffer`
histories; runtime information (epoch, iter, meta data) is overwritten on
each update. What is marked ``resumed`` goes into checkpoints, as plain
dicts, lists, numbers, strings and tensors only, so that checkpoints load
with ``torch.load(weights_only=True)``.
"""
import copy
import logging
from collections import OrderedDict
from typing import Any, Optional

import numpy as np
import torch

from ..utils import ManagerMixin
from .history_buffer import PENDING_LIMIT, HistoryBuffer
from .logger import print_log

_SAFE_LEAVES = (str, int, float, bool, bytes, type(None), torch.Tensor,
                torch.dtype, torch.device)


class UnsafeValueError(TypeError):
    """A runtime-info value that a weights-only checkpoint cannot hold."""


def to_safe(value: Any, where: str) -> Any:
    """A deep copy of ``value`` made of types ``weights_only`` loading
    accepts: numpy values become Python numbers/lists, mappings plain
    dicts."""
    if isinstance(value, _SAFE_LEAVES):
        return value.detach().clone() if isinstance(value,
                                                    torch.Tensor) else value
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_safe(v, f'{where}.{k}') for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [to_safe(v, f'{where}[{i}]') for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise UnsafeValueError(
        f'{where} is a {type(value).__name__}, which a weights-only '
        f'checkpoint cannot hold')


class MessageHub(ManagerMixin):
    """Named global store of logged scalars and runtime information.

    Args:
        name: global instance name.
        log_scalars: initial ``{key: HistoryBuffer}``.
        runtime_info: initial ``{key: value}``.
        resumed_keys: ``{key: bool}``, whether each key is checkpointed.
    """

    def __init__(self,
                 name: str,
                 log_scalars: Optional[dict] = None,
                 runtime_info: Optional[dict] = None,
                 resumed_keys: Optional[dict] = None):
        super().__init__(name)
        self._log_scalars = self._parse_input('log_scalars', log_scalars)
        self._runtime_info = self._parse_input('runtime_info', runtime_info)
        self._resumed_keys = self._parse_input('resumed_keys', resumed_keys)
        for key, value in self._log_scalars.items():
            if not isinstance(value, HistoryBuffer):
                raise TypeError(
                    f'log_scalars[{key!r}] must be a HistoryBuffer, got '
                    f'{type(value).__name__}')
        for key in self._resumed_keys:
            if key not in self._log_scalars and key not in self._runtime_info:
                raise KeyError(
                    f'resumed_keys has {key!r}, which is neither in '
                    f'log_scalars nor in runtime_info')

    @staticmethod
    def _parse_input(name: str, value: Optional[dict]) -> OrderedDict:
        if value is None:
            return OrderedDict()
        if not isinstance(value, dict):
            raise TypeError(
                f'{name} must be a dict or None, got {type(value).__name__}')
        return OrderedDict(value)

    @classmethod
    def get_current_instance(cls) -> 'MessageHub':
        """The latest hub; one named 'mmengine' is created if none exists."""
        if not cls._instance_dict:
            cls.get_instance('mmengine')
        return super().get_current_instance()

    def _set_resumed_keys(self, key: str, resumed: bool) -> None:
        previous = self._resumed_keys.setdefault(key, resumed)
        if previous != resumed:
            raise ValueError(
                f'{key!r} was registered with resumed={previous}; it cannot '
                f'change to resumed={resumed}')

    def update_scalar(self,
                      key: str,
                      value: Any,
                      count: int = 1,
                      resumed: bool = True) -> None:
        """Append ``value`` (a number or a one-element tensor, stored as is
        until a statistic is read) to the history of ``key``."""
        # Called several times per iteration: the common case (a known key)
        # costs two dict lookups before the buffer's own append, and a float
        # (times, learning rates) is appended here without another call.
        buffer = self._log_scalars.get(key)
        if (buffer is not None and count.__class__ is int
                and self._resumed_keys[key] == resumed):
            if value.__class__ is float:
                pending = buffer._pending_logs
                pending.append(value)
                buffer._pending_counts.append(count)
                if len(pending) >= PENDING_LIMIT:
                    buffer._materialize()
            else:
                buffer.update(value, count)
            return
        self._set_resumed_keys(key, resumed)
        if not isinstance(count, int):
            raise TypeError(
                f'count must be an int, got {type(count).__name__}')
        if buffer is None:
            self._log_scalars[key] = HistoryBuffer([value], [count])
        else:
            buffer.update(value, count)

    def update_scalars(self, log_dict: dict, resumed: bool = True) -> None:
        """Update several scalars; a value may be ``dict(value=v, count=n)``.
        """
        if not isinstance(log_dict, dict):
            raise TypeError(
                f'log_dict must be a dict, got {type(log_dict).__name__}')
        for key, value in log_dict.items():
            count = 1
            if isinstance(value, dict):
                if 'value' not in value:
                    raise KeyError(
                        f'log_dict[{key!r}] is a dict, so it needs a "value" '
                        f'key (and optionally "count"), got {value!r}')
                count = value.get('count', 1)
                if isinstance(count, (torch.Tensor, np.ndarray, np.generic)):
                    count = count.item()
                value = value['value']
            self.update_scalar(key, value, count, resumed)

    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        """Set runtime information ``key`` (overwriting the old value)."""
        self._set_resumed_keys(key, resumed)
        self._runtime_info[key] = value

    def update_info_dict(self, info_dict: dict, resumed: bool = True) -> None:
        if not isinstance(info_dict, dict):
            raise TypeError(
                f'info_dict must be a dict, got {type(info_dict).__name__}')
        for key, value in info_dict.items():
            self.update_info(key, value, resumed=resumed)

    def pop_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.pop(key, default)

    @property
    def log_scalars(self) -> OrderedDict:
        """All histories (the objects themselves, not copies)."""
        return self._log_scalars

    @property
    def runtime_info(self) -> OrderedDict:
        return self._runtime_info

    def get_scalar(self, key: str) -> HistoryBuffer:
        try:
            return self._log_scalars[key]
        except KeyError:
            raise KeyError(
                f'{key!r} is not among the scalars of MessageHub '
                f'{self.instance_name!r}; known: '
                f'{list(self._log_scalars)}') from None

    def get_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.get(key, default)

    def state_dict(self) -> dict:
        """The resumable keys as plain data (see the module docstring).

        A runtime-info value that cannot be stored safely (an arbitrary
        object) is left out with a warning naming it.
        """
        scalars = {
            key: buffer.state_dict()
            for key, buffer in self._log_scalars.items()
            if self._resumed_keys.get(key, False)
        }
        info = {}
        for key, value in self._runtime_info.items():
            if not self._resumed_keys.get(key, False):
                continue
            try:
                info[key] = to_safe(value, f'runtime_info[{key!r}]')
            except UnsafeValueError as exc:
                print_log(f'MessageHub.state_dict skips {exc}',
                          logger='current', level=logging.WARNING)
        return dict(
            log_scalars=scalars,
            runtime_info=info,
            resumed_keys=dict(self._resumed_keys))

    def load_state_dict(self, state_dict: Any) -> None:
        """Restore from :meth:`state_dict` output or another MessageHub."""
        if isinstance(state_dict, MessageHub):
            self._log_scalars = copy.deepcopy(state_dict._log_scalars)
            self._runtime_info = copy.deepcopy(state_dict._runtime_info)
            self._resumed_keys = copy.deepcopy(state_dict._resumed_keys)
            return
        if not isinstance(state_dict, dict):
            raise TypeError(
                f'state_dict must be a dict or a MessageHub, got '
                f'{type(state_dict).__name__}')
        missing = [
            k for k in ('log_scalars', 'runtime_info', 'resumed_keys')
            if k not in state_dict
        ]
        if missing:
            raise KeyError(
                f'MessageHub state_dict is missing {missing}; it needs '
                f'log_scalars, runtime_info and resumed_keys')
        for key, value in state_dict['log_scalars'].items():
            if isinstance(value, HistoryBuffer):
                self._log_scalars[key] = copy.deepcopy(value)
            else:
                self._log_scalars[key] = HistoryBuffer.from_state_dict(value)
        for key, value in state_dict['runtime_info'].items():
            self._runtime_info[key] = copy.deepcopy(value)
        for key, value in state_dict['resumed_keys'].items():
            if key in self._log_scalars or key in self._runtime_info:
                self._resumed_keys[key] = value
