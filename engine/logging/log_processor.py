"""LogProcessor: turns the message hub's histories into log lines and tags.

Called by the logger hook at its interval only, so it can afford to be
straightforward. The lines reproduce mmengine 0.10.7's character for
character, e.g.::

    Epoch(train)  [1][10/25]  lr: 1.0000e-02  eta: 0:00:01  time: 0.0051  ...
    Iter(train) [ 10/100]  lr: ...
    Epoch(val) [1][5/5]    accuracy: 0.9000  data_time: ...  time: ...

It reads these runner attributes: ``message_hub``, ``epoch``, ``iter``,
``max_epochs``, ``max_iters``, ``{train,val,test}_dataloader`` (for their
lengths), ``model`` (CUDA memory only) and ``_train_loop`` (None or a dict
when the runner only validates or tests, as in mmengine).
"""
import copy
import datetime
import re
from collections import OrderedDict
from itertools import chain
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..registry import LOG_PROCESSORS

_MODES = ('train', 'val', 'test')


def _strip_prefix(key: str, prefix: str) -> str:
    return key[len(prefix):] if key.startswith(prefix) else key


def _has_train_loop(runner) -> bool:
    """Whether the runner trains (its train loop is built or buildable)."""
    loop = getattr(runner, '_train_loop', None)
    return loop is not None and not isinstance(loop, dict)


def max_cuda_memory_mb(device=None) -> int:
    """Peak CUDA memory allocated by tensors, in MiB, then reset the peak
    (so each log line shows the peak since the previous one)."""
    mem = torch.cuda.max_memory_allocated(device=device)
    torch.cuda.reset_peak_memory_stats()
    return int(mem) // (1024 * 1024)


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Format the histories of ``runner.message_hub`` into log output.

    Args:
        window_size: iterations averaged by the smoothed values.
        by_epoch: epoch-style (``Epoch(train) [e][i/n]``) or iteration-style
            (``Iter(train) [i/n]``) lines.
        custom_cfg: extra statistics, e.g. ``[dict(data_src='loss',
            method_name='mean', window_size='global', log_name='avg_loss')]``;
            ``window_size`` may be an int, 'epoch' or 'global'. Without
            ``log_name`` the entry replaces the default statistic.
        num_digits: digits after the decimal point.
        log_with_hierarchy: keep the ``train/``, ``val/`` prefixes in tags.
        mean_pattern: keys matching it are averaged over ``window_size``;
            the others show their latest value.
    """

    def __init__(self,
                 window_size: int = 10,
                 by_epoch: bool = True,
                 custom_cfg: Optional[List[dict]] = None,
                 num_digits: int = 4,
                 log_with_hierarchy: bool = False,
                 mean_pattern: str = r'.*(loss|time|data_time|grad_norm).*'):
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg = list(custom_cfg) if custom_cfg else []
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self._check_custom_cfg()
        # (mode, reserve_prefix) -> (pattern, hub keys, result): _scalar_keys
        self._key_cache: dict = {}

    def _check_custom_cfg(self) -> None:
        names = set()
        for cfg in self.custom_cfg:
            if not isinstance(cfg, dict) or 'data_src' not in cfg:
                raise KeyError(
                    f'each custom_cfg entry must be a dict with "data_src", '
                    f'got {cfg!r}')
            name = cfg.get('log_name', cfg['data_src'])
            if name in names:
                raise ValueError(
                    f'custom_cfg produces {name!r} twice; give each entry on '
                    f'the same data_src its own log_name')
            names.add(name)
            if not self.by_epoch and cfg.get('window_size') == 'epoch':
                raise ValueError(
                    f'custom_cfg {cfg!r}: window_size="epoch" needs '
                    f'by_epoch=True')

    def _parse_windows_size(self, runner, batch_idx: int,
                            custom_cfg: List[dict]) -> List[dict]:
        """Resolve 'epoch'/'global' window sizes to iteration counts (a
        copy is made only when there is something to resolve)."""
        if all(
                isinstance(cfg.get('window_size'), (int, type(None)))
                for cfg in custom_cfg):
            return custom_cfg
        parsed = copy.deepcopy(custom_cfg)
        for cfg in parsed:
            window = cfg.get('window_size')
            if window is None or isinstance(window, int):
                continue
            if window == 'epoch':
                cfg['window_size'] = batch_idx + 1
            elif window == 'global':
                cfg['window_size'] = runner.iter + 1
            else:
                raise TypeError(
                    f'window_size must be an int, "epoch" or "global", got '
                    f'{window!r}')
        return parsed

    def _scalar_keys(self, runner, mode: str, reserve_prefix: bool
                     ) -> List[Tuple[str, str, bool]]:
        """(hub key, tag key, averaged?) of the histories of ``mode``.

        Worked out once per set of hub keys rather than with a string test
        and a regex search per key at every log line; recomputed when a key
        appears or ``mean_pattern`` is replaced.
        """
        scalars = runner.message_hub.log_scalars
        names = list(scalars)
        cache_key = (mode, reserve_prefix)
        cached = self._key_cache.get(cache_key)
        if cached is not None and cached[0] is self.mean_pattern and \
                cached[1] == names:
            return cached[2]
        prefix = f'{mode}/'
        keys = []
        for key in scalars:
            if key.startswith(mode):
                name = key if reserve_prefix else _strip_prefix(key, prefix)
                keys.append(
                    (key, name, self.mean_pattern.search(name) is not None))
        self._key_cache[cache_key] = (self.mean_pattern, names, keys)
        return keys

    def _collect_scalars(self, custom_cfg: List[dict], runner, mode: str,
                         reserve_prefix: bool = False) -> OrderedDict:
        """Statistics of the histories of ``mode``, keyed without (or with)
        the ``mode/`` prefix."""
        prefix = f'{mode}/'
        log_scalars = runner.message_hub.log_scalars
        tag = OrderedDict()
        buffers = {}
        window = self.window_size
        for key, name, averaged in self._scalar_keys(runner, mode,
                                                     reserve_prefix):
            buffer = buffers[name] = log_scalars[key]
            tag[name] = buffer.mean(window) if averaged else buffer.current()
        for cfg in custom_cfg:
            args = dict(cfg)
            data_src = args.pop('data_src')
            log_name = args.pop('log_name', data_src)
            if reserve_prefix:
                data_src, log_name = prefix + data_src, prefix + log_name
            if data_src in buffers:
                tag[log_name] = buffers[data_src].statistics(**args)
        return tag

    def _collect_non_scalars(self, runner, mode: str) -> OrderedDict:
        prefix = f'{mode}/'
        return OrderedDict(
            (key if self.log_with_hierarchy else _strip_prefix(key, prefix),
             value) for key, value in runner.message_hub.runtime_info.items()
            if key.startswith(mode))

    def _dataloader_len(self, runner, mode: str) -> int:
        return len(getattr(runner, f'{mode}_dataloader'))

    def _epoch(self, runner, mode: str) -> int:
        if mode == 'train':
            return runner.epoch + 1
        if mode == 'val':
            return runner.epoch if _has_train_loop(runner) else 0
        raise ValueError(f"mode must be 'train' or 'val', got {mode!r}")

    def _fmt(self, value) -> str:
        return f'{value:.{self.num_digits}f}'

    def get_log_after_iter(self, runner, batch_idx: int,
                           mode: str) -> Tuple[dict, str]:
        """Tags and the log line after an iteration of ``mode``."""
        tag, log_tag = self._tags_after_iter(runner, batch_idx, mode)
        return tag, self._line_after_iter(runner, batch_idx, mode, tag,
                                          log_tag)

    def get_tag_after_iter(self, runner, batch_idx: int, mode: str) -> dict:
        """The tags of :meth:`get_log_after_iter` without its line: the
        logger hook asks for this when its logger would drop the line, and
        saves the formatting."""
        return self._tags_after_iter(runner, batch_idx, mode)[0]

    def _tags_after_iter(self, runner, batch_idx: int,
                         mode: str) -> Tuple[dict, OrderedDict]:
        """(tag, statistics keyed for the line) after an iteration."""
        if mode not in _MODES:
            raise ValueError(f'mode must be one of {_MODES}, got {mode!r}')
        parsed_cfg = self._parse_windows_size(runner, batch_idx,
                                              self.custom_cfg)
        log_tag = self._collect_scalars(parsed_cfg, runner, mode)
        # Statistics are fresh numpy scalars that nothing modifies: a
        # shallow copy separates the two dicts as well as a deep one.
        tag = (self._collect_scalars(parsed_cfg, runner, mode, True)
               if self.log_with_hierarchy else OrderedDict(log_tag))
        trains = _has_train_loop(runner)
        if self.by_epoch and mode in ('train', 'val'):
            tag['epoch'] = self._epoch(runner, mode)
        tag['iter'] = runner.iter + 1 if trains else 0
        if self._cuda_available():
            tag['memory'] = max_cuda_memory_mb(
                getattr(runner.model, 'output_device', None))
        return tag, log_tag

    def _cuda_available(self) -> bool:
        """``torch.cuda.is_available()``, asked once: the answer is fixed
        for the life of the process."""
        available = self.__dict__.get('_has_cuda')
        if available is None:
            available = self._has_cuda = torch.cuda.is_available()
        return available

    def _line_after_iter(self, runner, batch_idx: int, mode: str, tag: dict,
                         log_tag: OrderedDict) -> str:
        """The log line for the statistics of :meth:`_tags_after_iter`
        (``log_tag`` is consumed)."""
        lr_items = []
        for key, value in tag.items():
            if key.endswith('lr'):
                key = _strip_prefix(key, f'{mode}/')
                log_tag.pop(key)
                lr_items.append(f'{key}: {value:.{self.num_digits}e}')

        if self.by_epoch:
            loader_len = self._dataloader_len(runner, mode)
            iter_str = str(batch_idx + 1).rjust(len(str(loader_len)))
            if mode in ('train', 'val'):
                epoch_str = f'[{tag["epoch"]}]'
                if _has_train_loop(runner):
                    width = len(str(runner.max_epochs)) + 3
                    epoch_str = epoch_str.rjust(width)
                log_str = (f'Epoch({mode}){epoch_str}'
                           f'[{iter_str}/{loader_len}]  ')
            else:
                log_str = f'Epoch({mode}) [{iter_str}/{loader_len}]  '
        elif mode == 'train':
            iter_str = str(runner.iter + 1).rjust(len(str(runner.max_iters)))
            log_str = f'Iter({mode}) [{iter_str}/{runner.max_iters}]  '
        else:
            loader_len = self._dataloader_len(runner, mode)
            iter_str = str(batch_idx + 1).rjust(len(str(loader_len)))
            log_str = f'Iter({mode}) [{iter_str}/{loader_len}]  '
        log_str += ' '.join(lr_items) + '  '

        hub = runner.message_hub
        if ('time' in log_tag and 'data_time' in log_tag
                and 'eta' in hub.runtime_info):
            eta = datetime.timedelta(seconds=int(hub.get_info('eta')))
            time = self._fmt(log_tag.pop('time'))
            data_time = self._fmt(log_tag.pop('data_time'))
            log_str += f'eta: {eta}  time: {time}  data_time: {data_time}  '

        if 'memory' in tag:
            log_str += f'memory: {tag["memory"]}  '

        if mode in ('train', 'val'):
            items = []
            for name, value in log_tag.items():
                if mode == 'val' and not name.startswith('val/loss'):
                    continue
                if isinstance(value, float):
                    value = self._fmt(value)
                items.append(f'{name}: {value}')
            log_str += '  '.join(items)
        return log_str

    def get_log_after_epoch(self,
                            runner,
                            batch_idx: int,
                            mode: str,
                            with_non_scalar: bool = False
                            ) -> Tuple[dict, str]:
        """Tags and the log line after a validation or test epoch."""
        if mode not in ('val', 'test'):
            raise ValueError(
                f"get_log_after_epoch takes mode 'val' or 'test', got "
                f'{mode!r}')
        loader_len = self._dataloader_len(runner, mode)
        if not self.by_epoch:
            log_str = f'Iter({mode}) [{loader_len}/{loader_len}]  '
        elif mode == 'val':
            log_str = (f'Epoch({mode}) [{self._epoch(runner, mode)}]'
                       f'[{loader_len}/{loader_len}]  ')
        else:
            log_str = f'Epoch({mode}) [{loader_len}/{loader_len}]  '

        custom_cfg = list(self.custom_cfg)
        custom_keys = {
            _strip_prefix(cfg['data_src'], f'{mode}/')
            for cfg in custom_cfg
        }
        for key in ('time', 'data_time'):
            if key not in custom_keys:
                custom_cfg.append(
                    dict(data_src=key, window_size='epoch',
                         method_name='mean'))
        parsed_cfg = self._parse_windows_size(runner, batch_idx, custom_cfg)
        scalars = self._collect_scalars(parsed_cfg, runner, mode,
                                        self.log_with_hierarchy)
        non_scalars = self._collect_non_scalars(runner, mode)
        time_keys = (f'{mode}/time', f'{mode}/data_time', 'time', 'data_time')
        tag = OrderedDict(
            (k, v) for k, v in scalars.items() if k not in time_keys)
        time_tag = OrderedDict(
            (k, v) for k, v in scalars.items() if k in time_keys)

        items = []
        for name, value in chain(tag.items(), non_scalars.items(),
                                 time_tag.items()):
            if isinstance(value, float):
                value = self._fmt(value)
            if isinstance(value, (torch.Tensor, np.ndarray)):
                value = f'\n{value}\n'
            items.append(f'{name}: {value}')
        log_str += '  ' + '  '.join(items)

        if with_non_scalar:
            tag.update(non_scalars)
        tag.update(time_tag)
        return tag, log_str
