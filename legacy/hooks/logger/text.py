"""mmcv's TextLoggerHook: console lines and the ``<timestamp>.log.json``
file, in mmcv's exact format.

Unlike mmcv, the JSON file stays open for the run (each record is written
and flushed, so the file is always complete), and a console line is only
formatted when the logger will print it: logging costs little per iteration.
"""
import datetime
import json
import logging
import math
import os
import os.path as osp
import shutil
from collections import OrderedDict
from typing import Dict, Optional, Union

import numpy as np
import torch
import torch.distributed as dist

from engine.logging.json_lines import JsonLinesFile, json_line
from ..hook import HOOKS
from .base import LoggerHook

# keys already written in the head of a train/val line
_HEAD_KEYS = frozenset(
    ('mode', 'Epoch', 'iter', 'lr', 'time', 'data_time', 'memory', 'epoch'))


def _json_default(obj):
    """What json cannot write natively, as mmcv writes it."""
    if isinstance(obj, (set, range)):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f'{type(obj)} is unsupported for json dump')


# what json.dumps(..., default=_json_default) builds on every call
_JSON_ENCODER = json.JSONEncoder(default=_json_default)


def _round5(value: float) -> float:
    """``round(value, 5)`` as mmcv computes it for its ``.log.json``.

    A numpy float64 (the LogBuffer averages) is rounded by numpy, which
    computes ``rint(value * 1e5) / 1e5`` (ties to even); that is not always
    Python's correctly rounded ``round`` (2.675 -> 2.68, not 2.67). The same
    operations are done here on Python floats, ten times faster than numpy's
    scalar ``round``, and the result is a float, which json writes exactly as
    the float64; a value whose scaled form is not finite is left to numpy.
    """
    if type(value) is np.float64:
        scaled = float(value) * 100000.0
        if math.isfinite(scaled):
            return math.copysign(round(scaled), scaled) / 100000.0
    return round(value, 5)


@HOOKS.register_module()
class TextLoggerHook(LoggerHook):
    """Log the averaged values to the runner's logger and, one JSON object
    per line, to ``work_dir/<timestamp>.log.json``.

    Args:
        by_epoch: ``Epoch [e][i/len]`` lines (True) or ``Iter [i/max]``.
        interval: log every ``interval`` iterations.
        ignore_last: skip the last iterations of an epoch when fewer than
            ``interval``.
        reset_flag: clear the averaged output after logging.
        interval_exp_name: print ``meta['exp_name']`` every so many
            iterations.
        out_dir: also copy the log files (``out_suffix``) to
            ``out_dir/<last part of work_dir>`` after the run.
        out_suffix: which files to copy.
        keep_local: keep the local files after copying them.
        file_client_args: only local storage is supported.
    """

    def __init__(self,
                 by_epoch: bool = True,
                 interval: int = 10,
                 ignore_last: bool = True,
                 reset_flag: bool = False,
                 interval_exp_name: int = 1000,
                 out_dir: Optional[str] = None,
                 out_suffix: Union[str, tuple] = ('.log.json', '.log', '.py'),
                 keep_local: bool = True,
                 file_client_args: Optional[Dict] = None) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.time_sec_tot = 0.
        self.interval_exp_name = interval_exp_name
        if out_dir is None and file_client_args is not None:
            raise ValueError(
                'file_client_args should be "None" when `out_dir` is not '
                'specified.')
        if not (out_dir is None or isinstance(out_dir, str)):
            raise TypeError(
                f'out_dir should be None or a str, but got {out_dir!r}')
        if file_client_args is not None and file_client_args.get(
                'backend', 'disk') not in ('disk', 'local'):
            raise ValueError(f'file_client_args={file_client_args}: only the '
                             'local file system is supported')
        self.out_dir = out_dir
        self.out_suffix = out_suffix
        self.keep_local = keep_local
        self.file_client_args = file_client_args
        self._json_file = None

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if self.out_dir is not None:
            basename = osp.basename(runner.work_dir.rstrip(osp.sep))
            self.out_dir = osp.join(self.out_dir, basename)
            runner.logger.info(
                f'Text logs will be saved to {self.out_dir} by '
                'HardDiskBackend after the training process.')
        self.start_iter = runner.iter
        self.json_log_path = osp.join(runner.work_dir,
                                      f'{runner.timestamp}.log.json')
        self._close_json()
        if runner.meta is not None:
            self._dump_log(runner.meta, runner)

    def _get_max_memory(self, runner) -> int:
        device = getattr(runner.model, 'output_device', None)
        mem = torch.cuda.max_memory_allocated(device=device)
        mem_mb = torch.tensor([int(mem) // (1024 * 1024)],
                              dtype=torch.int,
                              device=device)
        if runner.world_size > 1:
            dist.reduce(mem_mb, 0, op=dist.ReduceOp.MAX)
        return mem_mb.item()

    def _log_info(self, log_dict: Dict, runner) -> None:
        if runner.meta is not None and 'exp_name' in runner.meta:
            if (self.every_n_iters(runner, self.interval_exp_name)) or (
                    self.by_epoch and self.end_of_epoch(runner)):
                runner.logger.info(f'Exp name: {runner.meta["exp_name"]}')

        if log_dict['mode'] == 'train' and 'time' in log_dict:
            # the running time total feeds the eta, printed or not
            self.time_sec_tot += (log_dict['time'] * self.interval)
        if not runner.logger.isEnabledFor(logging.INFO):
            return
        if log_dict['mode'] == 'train':
            if isinstance(log_dict['lr'], dict):
                lr_str = ' '.join(f'lr_{k}: {val:.3e}'
                                  for k, val in log_dict['lr'].items())
            else:
                lr_str = f'lr: {log_dict["lr"]:.3e}'
            if self.by_epoch:
                log_str = (f'Epoch [{log_dict["epoch"]}]'
                           f'[{log_dict["iter"]}/{len(runner.data_loader)}]\t')
            else:
                log_str = f'Iter [{log_dict["iter"]}/{runner.max_iters}]\t'
            log_str += f'{lr_str}, '
            if 'time' in log_dict:
                time_sec_avg = self.time_sec_tot / (
                    runner.iter - self.start_iter + 1)
                eta_sec = time_sec_avg * (runner.max_iters - runner.iter - 1)
                eta_str = str(datetime.timedelta(seconds=int(eta_sec)))
                log_str += f'eta: {eta_str}, '
                log_str += (f'time: {log_dict["time"]:.3f}, '
                            f'data_time: {log_dict["data_time"]:.3f}, ')
                if torch.cuda.is_available():
                    log_str += f'memory: {log_dict["memory"]}, '
        elif self.by_epoch:
            log_str = (f'Epoch({log_dict["mode"]}) '
                       f'[{log_dict["epoch"]}][{log_dict["iter"]}]\t')
        else:
            log_str = f'Iter({log_dict["mode"]}) [{log_dict["iter"]}]\t'

        items = []
        for name, val in log_dict.items():
            if name in _HEAD_KEYS:
                continue
            if isinstance(val, float):
                val = f'{val:.4f}'
            items.append(f'{name}: {val}')
        log_str += ', '.join(items)
        runner.logger.info(log_str)

    def _dump_log(self, log_dict: Dict, runner) -> None:
        json_log = {k: self._round_float(v) for k, v in log_dict.items()}
        if runner.rank == 0:
            if self._json_file is None:
                self._json_file = JsonLinesFile(self.json_log_path)
            self._json_file.write_line(json_line(json_log, _JSON_ENCODER))

    def _close_json(self) -> None:
        if self._json_file is not None:
            self._json_file.close()
            self._json_file = None

    def _round_float(self, items):
        if isinstance(items, list):
            return [self._round_float(item) for item in items]
        if isinstance(items, float):
            return _round5(items)
        return items

    def log(self, runner) -> OrderedDict:
        output = runner.log_buffer.output
        if 'eval_iter_num' in output:
            # set by the evaluation hooks; independent of runner.iter
            cur_iter = output.pop('eval_iter_num')
        else:
            cur_iter = self.get_iter(runner, inner_iter=True)

        log_dict = OrderedDict(
            mode=self.get_mode(runner),
            epoch=self.get_epoch(runner),
            iter=cur_iter)
        cur_lr = runner.current_lr()
        if isinstance(cur_lr, list):
            log_dict['lr'] = cur_lr[0]
        else:
            log_dict['lr'] = {k: lrs[0] for k, lrs in cur_lr.items()}
        if 'time' in output and torch.cuda.is_available():
            log_dict['memory'] = self._get_max_memory(runner)
        log_dict = dict(log_dict, **output)

        self._log_info(log_dict, runner)
        self._dump_log(log_dict, runner)
        return log_dict

    # mmcv opened and closed the .log.json for every record; it is kept
    # open here, and flushed at least once a second, at each epoch end and
    # when the run ends (see engine.logging.json_lines).
    def _flush_json(self) -> None:
        if self._json_file is not None:
            self._json_file.flush()

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        self._flush_json()

    def after_val_epoch(self, runner) -> None:
        super().after_val_epoch(runner)
        self._flush_json()

    def after_run(self, runner) -> None:
        self._close_json()
        if self.out_dir is None:
            return
        suffixes = (self.out_suffix, ) if isinstance(
            self.out_suffix, str) else tuple(self.out_suffix)
        for filename in _files_with_suffix(runner.work_dir, suffixes):
            local_path = osp.join(runner.work_dir, filename)
            out_path = osp.join(self.out_dir, filename)
            os.makedirs(osp.dirname(out_path), exist_ok=True)
            shutil.copyfile(local_path, out_path)
            runner.logger.info(
                f'The file {local_path} has been uploaded to {out_path}.')
            if not self.keep_local:
                os.remove(local_path)
                runner.logger.info(f'{local_path} was removed due to the '
                                   '`self.keep_local=False`')


def _files_with_suffix(root: str, suffixes: tuple) -> list:
    """Paths relative to ``root`` of the files below it ending with one of
    ``suffixes``."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for filename in filenames:
            if filename.endswith(suffixes):
                found.append(
                    osp.relpath(osp.join(dirpath, filename), root))
    return sorted(found)
