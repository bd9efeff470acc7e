"""mmcv's TensorboardLoggerHook (needs the optional ``tensorboard``
package: ``pip install trainbridge[tensorboard]``)."""
import os.path as osp
from typing import Optional

from engine.dist import master_only
from ..hook import HOOKS
from .base import LoggerHook


@HOOKS.register_module()
class TensorboardLoggerHook(LoggerHook):
    """Write the averaged values, lr and momentum as TensorBoard scalars to
    ``log_dir`` (default ``work_dir/tf_logs``)."""

    def __init__(self,
                 log_dir: Optional[str] = None,
                 interval: int = 10,
                 ignore_last: bool = True,
                 reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir = log_dir

    @master_only
    def before_run(self, runner) -> None:
        super().before_run(runner)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ImportError(
                'TensorboardLoggerHook needs the tensorboard package: '
                'pip install "trainbridge[tensorboard]" (or pip install '
                f'tensorboard). The import failed with: {e}') from e
        if self.log_dir is None:
            self.log_dir = osp.join(runner.work_dir, 'tf_logs')
        self.writer = SummaryWriter(self.log_dir)

    @master_only
    def log(self, runner) -> None:
        tags = self.get_loggable_tags(runner, allow_text=True)
        step = self.get_iter(runner)
        for tag, val in tags.items():
            if isinstance(val, str):
                self.writer.add_text(tag, val, step)
            else:
                self.writer.add_scalar(tag, val, step)

    @master_only
    def after_run(self, runner) -> None:
        self.writer.close()
