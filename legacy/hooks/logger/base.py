"""mmcv's LoggerHook: when to average the log buffer and log it."""
import numbers
from abc import abstractmethod
from typing import Dict

import numpy as np
import torch

from ..hook import Hook


class LoggerHook(Hook):
    """Base class of logger hooks.

    Args:
        interval: log every ``interval`` iterations (the buffer is averaged
            over them).
        ignore_last: skip the last iterations of an epoch when fewer than
            ``interval``.
        reset_flag: clear the averaged output after logging (set on the last
            logger hook automatically).
        by_epoch: count iterations within the epoch (True) or overall.
    """

    def __init__(self,
                 interval: int = 10,
                 ignore_last: bool = True,
                 reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        self.interval = interval
        self.ignore_last = ignore_last
        self.reset_flag = reset_flag
        self.by_epoch = by_epoch

    @abstractmethod
    def log(self, runner):
        pass

    @staticmethod
    def is_scalar(val,
                  include_np: bool = True,
                  include_torch: bool = True) -> bool:
        """Whether ``val`` is a number (or a 0-d numpy array / one-element
        tensor when allowed)."""
        if isinstance(val, numbers.Number):
            return True
        if include_np and isinstance(val, np.ndarray) and val.ndim == 0:
            return True
        return (include_torch and isinstance(val, torch.Tensor)
                and val.numel() == 1)

    def get_mode(self, runner) -> str:
        if runner.mode == 'train':
            return 'train' if 'time' in runner.log_buffer.output else 'val'
        if runner.mode == 'val':
            return 'val'
        raise ValueError("runner mode should be 'train' or 'val', but got "
                         f'{runner.mode}')

    def get_epoch(self, runner) -> int:
        if runner.mode == 'train':
            return runner.epoch + 1
        if runner.mode == 'val':
            # the epoch counter was already advanced by the train epoch
            return runner.epoch
        raise ValueError("runner mode should be 'train' or 'val', but got "
                         f'{runner.mode}')

    def get_iter(self, runner, inner_iter: bool = False) -> int:
        """The current iteration, 1-based (within the epoch when
        ``by_epoch`` and ``inner_iter``)."""
        if self.by_epoch and inner_iter:
            return runner.inner_iter + 1
        return runner.iter + 1

    def get_lr_tags(self, runner) -> Dict[str, float]:
        lrs = runner.current_lr()
        if isinstance(lrs, dict):
            return {f'learning_rate/{k}': v[0] for k, v in lrs.items()}
        return {'learning_rate': lrs[0]}

    def get_momentum_tags(self, runner) -> Dict[str, float]:
        momentums = runner.current_momentum()
        if isinstance(momentums, dict):
            return {f'momentum/{k}': v[0] for k, v in momentums.items()}
        return {'momentum': momentums[0]}

    def get_loggable_tags(self,
                          runner,
                          allow_scalar: bool = True,
                          allow_text: bool = False,
                          add_mode: bool = True,
                          tags_to_skip: tuple = ('time', 'data_time')
                          ) -> Dict:
        """The averaged values as ``mode/name`` tags, plus lr and
        momentum."""
        tags = {}
        for var, val in runner.log_buffer.output.items():
            if var in tags_to_skip:
                continue
            if self.is_scalar(val) and not allow_scalar:
                continue
            if isinstance(val, str) and not allow_text:
                continue
            if add_mode:
                var = f'{self.get_mode(runner)}/{var}'
            tags[var] = val
        tags.update(self.get_lr_tags(runner))
        tags.update(self.get_momentum_tags(runner))
        return tags

    def before_run(self, runner) -> None:
        # the last logger hook clears the averaged output after logging
        for hook in runner.hooks[::-1]:
            if isinstance(hook, LoggerHook):
                hook.reset_flag = True
                break

    def before_epoch(self, runner) -> None:
        runner.log_buffer.clear()

    def after_train_iter(self, runner) -> None:
        if self.by_epoch and self.every_n_inner_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.ignore_last and self.end_of_epoch(runner):
            # not precise but more stable
            runner.log_buffer.average(self.interval)

        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_train_epoch(self, runner) -> None:
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_val_epoch(self, runner) -> None:
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()
