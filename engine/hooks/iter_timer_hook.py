"""Per-iteration timing and the ETA shown in the log."""
from time import perf_counter
from typing import Optional, Sequence, Union

from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Logs ``{mode}/data_time`` (waiting for the batch) and ``{mode}/time``
    (the whole iteration) to the message hub, and the ``eta`` runtime info.

    Timestamps come from ``time.perf_counter`` (monotonic, finer grained than
    the wall clock); the logged values are seconds as before. The message hub
    keys are built once, not per iteration, ``max_iters`` is read once per
    run, and once ``eta`` is registered in a message hub it is written
    straight into its runtime info.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.time_sec_tot = 0.
        self.time_sec_test_val = 0.
        self.start_iter = 0
        self.t = perf_counter()
        self._eta_hub = None  # the hub whose runtime info has 'eta'
        self._max_iters = None

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter
        # fixed for the run; read once rather than on every iteration
        self._max_iters = runner.max_iters

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        self.t = perf_counter()

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        self.time_sec_test_val = 0.

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        runner.message_hub.update_scalar('train/data_time',
                                         perf_counter() - self.t)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        now = perf_counter()
        iter_time = now - self.t
        self.t = now
        hub = runner.message_hub
        hub.update_scalar('train/time', iter_time)
        self.time_sec_tot += iter_time
        cur_iter = runner.iter
        time_sec_avg = self.time_sec_tot / (cur_iter - self.start_iter + 1)
        eta = time_sec_avg * ((self._max_iters or runner.max_iters) -
                              cur_iter - 1)
        if self._eta_hub is hub:
            hub.runtime_info['eta'] = eta
        else:
            hub.update_info('eta', eta)
            self._eta_hub = hub

    def _before_iter(self,
                     runner,
                     batch_idx: int,
                     data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        # val and test; train has its own method above
        runner.message_hub.update_scalar(f'{mode}/data_time',
                                         perf_counter() - self.t)

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: DATA_BATCH = None,
                    outputs: Optional[Union[dict, Sequence]] = None,
                    mode: str = 'train') -> None:
        # val and test: the ETA is for the current evaluation loop only
        now = perf_counter()
        iter_time = now - self.t
        self.t = now
        runner.message_hub.update_scalar(f'{mode}/time', iter_time)
        dataloader = (
            runner.val_dataloader if mode == 'val' else runner.test_dataloader)
        self.time_sec_test_val += iter_time
        time_sec_avg = self.time_sec_test_val / (batch_idx + 1)
        runner.message_hub.update_info(
            'eta', time_sec_avg * (len(dataloader) - batch_idx - 1))
