"""Write log lines (through the runner's LogProcessor and logger) and a
JSON-lines scalar log, at a fixed iteration interval."""
import json
import logging
import os
import os.path as osp
import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch

from engine.logging import LogProcessor
from engine.logging.json_lines import JsonLinesFile, json_line
from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook

SUFFIX_TYPE = Union[Sequence[str], str]


def _json_default(value: Any) -> Any:
    """What ``json`` cannot write itself: numpy values and tensors (as the
    log processor hands them over) as numbers/lists, anything else (a
    non-scalar test metric object) as its repr."""
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        return value.tolist()
    return repr(value)


def _overrides_line(processor: Any) -> bool:
    """Whether ``processor`` makes its train log line its own way (a
    subclass overriding ``get_log_after_iter``, or a foreign class): then
    that method is always called, whether the line is shown or not."""
    method = getattr(type(processor), 'get_log_after_iter', None)
    return method is not LogProcessor.get_log_after_iter


# json.dumps(record, default=...) builds a new encoder for every line; this
# one is built once and writes the same text.
_ENCODER = json.JSONEncoder(default=_json_default)


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log every ``interval`` iterations (and at epoch ends) and after each
    validation/test epoch.

    Scalars go to ``<log_dir>/vis_data/scalars.json`` and
    ``<log_dir>/vis_data/<timestamp>.json`` (one JSON object per logged step,
    mmengine's layout), and to ``runner.visualizer`` when one is set. With
    ``out_dir`` the log files are copied there (into a folder named after the
    work dir) when the run ends. Only the local file system is supported.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self,
                 interval: int = 10,
                 ignore_last: bool = True,
                 interval_exp_name: int = 1000,
                 out_dir: Optional[Union[str, Path]] = None,
                 out_suffix: SUFFIX_TYPE = ('.json', '.log', '.py', 'yaml'),
                 keep_local: bool = True,
                 file_client_args: Optional[dict] = None,
                 log_metric_by_epoch: bool = True,
                 backend_args: Optional[dict] = None) -> None:
        for name, value in (('interval', interval),
                            ('interval_exp_name', interval_exp_name)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f'LoggerHook {name} must be an int, but got '
                                f'{type(value).__name__}: {value!r}')
            if value <= 0:
                raise ValueError(f'LoggerHook {name} must be > 0, but got '
                                 f'{value}')
        for name, value in (('ignore_last', ignore_last),
                            ('keep_local', keep_local),
                            ('log_metric_by_epoch', log_metric_by_epoch)):
            if not isinstance(value, bool):
                raise TypeError(f'LoggerHook {name} must be a bool, but got '
                                f'{type(value).__name__}: {value!r}')
        if out_dir is not None and not isinstance(out_dir, (str, Path)):
            raise TypeError('LoggerHook out_dir must be a str or Path, but '
                            f'got {type(out_dir).__name__}: {out_dir!r}')
        if out_dir is None and file_client_args is not None:
            raise ValueError('LoggerHook file_client_args needs out_dir')
        if isinstance(out_suffix, str):
            out_suffix = (out_suffix, )
        if not (isinstance(out_suffix, (list, tuple))
                and all(isinstance(s, str) for s in out_suffix)):
            raise TypeError('LoggerHook out_suffix must be a str or a '
                            f'sequence of str, but got {out_suffix!r}')
        from engine.runner.checkpoint import _check_backend
        _check_backend(backend_args, file_client_args)
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_dir = None if out_dir is None else str(out_dir)
        self.out_suffix = tuple(out_suffix)
        self.keep_local = keep_local
        self.log_metric_by_epoch = log_metric_by_epoch
        self.json_log_path: Optional[str] = None
        self._scalar_files: list = []
        self._train_len: Optional[int] = None

    # ------------------------------------------------------------ helpers
    def _open_scalar_files(self, runner) -> None:
        self._close_scalar_files()
        if runner.rank != 0:
            return
        vis_dir = osp.join(runner.log_dir, 'vis_data')
        os.makedirs(vis_dir, exist_ok=True)
        main = osp.join(vis_dir, 'scalars.json')
        self._scalar_files.append(JsonLinesFile(main))
        # mmengine writes the same lines to <timestamp>.json; a hard link
        # gives both names with one write per step.
        alias = osp.join(vis_dir, self.json_log_path)
        if not osp.exists(alias):
            try:
                os.link(main, alias)
                return
            except OSError:
                pass
        self._scalar_files.append(JsonLinesFile(alias))

    def _flush_scalar_files(self) -> None:
        for f in self._scalar_files:
            f.flush()

    def _close_scalar_files(self) -> None:
        for f in self._scalar_files:
            f.close()
        self._scalar_files = []

    def _add_scalars(self, runner, tag: dict, step: int) -> None:
        record = dict(tag)
        record.setdefault('step', step)
        if self._scalar_files:
            line = json_line(record, _ENCODER)
            for f in self._scalar_files:
                f.write_line(line)
        visualizer = runner.visualizer
        if visualizer is not None:
            visualizer.add_scalars(tag, step=step,
                                   file_path=self.json_log_path)

    # -------------------------------------------------------------- stages
    def before_run(self, runner) -> None:
        if self.out_dir is not None:
            self.out_dir = osp.join(
                self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))
            runner.logger.info(f'Text logs will be saved to {self.out_dir} '
                               'after the training process.')
        self.json_log_path = f'{runner.timestamp}.json'
        self._open_scalar_files(runner)

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        self._train_len = len(loader) if hasattr(loader, '__len__') else None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        done = batch_idx + 1
        end_of_epoch = done == self._train_len
        if end_of_epoch or (runner.iter + 1) % self.interval_exp_name == 0:
            runner.logger.info(f'Exp name: {runner.experiment_name}')
        if done % self.interval != 0 and not (
                end_of_epoch and
                (not self.ignore_last or self._train_len <= self.interval)):
            return
        processor = runner.log_processor
        logger = runner.logger
        if logger.isEnabledFor(logging.INFO) or \
                _overrides_line(processor):
            tag, log_str = processor.get_log_after_iter(
                runner, batch_idx, 'train')
            logger.info(log_str)
        else:  # the line would be dropped: skip formatting it
            tag = processor.get_tag_after_iter(runner, batch_idx, 'train')
        self._add_scalars(runner, tag, runner.iter + 1)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: DATA_BATCH = None,
                       outputs: Optional[Sequence] = None) -> None:
        if (batch_idx + 1) % self.interval == 0:
            _, log_str = runner.log_processor.get_log_after_iter(
                runner, batch_idx, 'val')
            runner.logger.info(log_str)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: DATA_BATCH = None,
                        outputs: Optional[Sequence] = None) -> None:
        if (batch_idx + 1) % self.interval == 0:
            _, log_str = runner.log_processor.get_log_after_iter(
                runner, batch_idx, 'test')
            runner.logger.info(log_str)

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.val_dataloader), 'val')
        runner.logger.info(log_str)
        training = runner._train_loop is not None and \
            not isinstance(runner._train_loop, dict)
        if not training:
            step = 0
        else:
            step = runner.epoch if self.log_metric_by_epoch else runner.iter
        self._add_scalars(runner, tag, step)
        self._flush_scalar_files()

    def after_train_epoch(self, runner) -> None:
        self._flush_scalar_files()

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if runner.rank == 0:
            with open(osp.join(runner.log_dir, self.json_log_path), 'w') as f:
                json.dump(tag, f, default=_json_default)

    def after_run(self, runner) -> None:
        self._close_scalar_files()
        visualizer = runner.visualizer
        if visualizer is not None and hasattr(visualizer, 'close'):
            visualizer.close()
        if self.out_dir is None or runner.rank != 0:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        copied = []
        for root, _, files in os.walk(runner.log_dir):
            for name in files:
                if not name.endswith(self.out_suffix):
                    continue
                local = osp.join(root, name)
                target = osp.join(self.out_dir,
                                  osp.relpath(local, runner.log_dir))
                os.makedirs(osp.dirname(target), exist_ok=True)
                shutil.copyfile(local, target)
                copied.append(local)
                runner.logger.info(f'The file {local} has been uploaded to '
                                   f'{target}.')
        if not self.keep_local:
            for handler in runner.logger.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.close()
            for local in copied:
                os.remove(local)
