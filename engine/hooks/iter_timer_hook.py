"""Per-iteration timing and the ETA shown in the log."""
import time
from typing import Optional, Sequence, Union

from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Logs ``{mode}/data_time`` (waiting for the batch) and ``{mode}/time``
    (the whole iteration) to the message hub, and the ``eta`` runtime info.

    Timestamps come from ``time.perf_counter`` (monotonic, finer grained than
    the wall clock); the logged values are seconds as before. The message hub
    keys are built once, not per iteration.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.time_sec_tot = 0.
        self.time_sec_test_val = 0.
        self.start_iter = 0
        self.t = time.perf_counter()

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        self.t = time.perf_counter()

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        self.time_sec_test_val = 0.

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        runner.message_hub.update_scalar('train/data_time',
                                         time.perf_counter() - self.t)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        message_hub = runner.message_hub
        message_hub.update_scalar('train/time', iter_time)
        self.time_sec_tot += iter_time
        cur_iter = runner.iter
        time_sec_avg = self.time_sec_tot / (cur_iter - self.start_iter + 1)
        message_hub.update_info(
            'eta', time_sec_avg * (runner.max_iters - cur_iter - 1))

    def _before_iter(self,
                     runner,
                     batch_idx: int,
                     data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        # val and test; train has its own method above
        runner.message_hub.update_scalar(f'{mode}/data_time',
                                         time.perf_counter() - self.t)

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: DATA_BATCH = None,
                    outputs: Optional[Union[dict, Sequence]] = None,
                    mode: str = 'train') -> None:
        # val and test: the ETA is for the current evaluation loop only
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        runner.message_hub.update_scalar(f'{mode}/time', iter_time)
        dataloader = (
            runner.val_dataloader if mode == 'val' else runner.test_dataloader)
        self.time_sec_test_val += iter_time
        time_sec_avg = self.time_sec_test_val / (batch_idx + 1)
        runner.message_hub.update_info(
            'eta', time_sec_avg * (len(dataloader) - batch_idx - 1))
