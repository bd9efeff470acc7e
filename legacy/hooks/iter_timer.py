"""mmcv's IterTimerHook: ``data_time`` and ``time`` into the log buffer."""
import time

from .hook import HOOKS, Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Records the time spent waiting for data (``data_time``) and the whole
    iteration time (``time``), in seconds, at every iteration."""

    def before_epoch(self, runner) -> None:
        self.t = time.time()

    def before_iter(self, runner) -> None:
        runner.log_buffer.update({'data_time': time.time() - self.t})

    def after_iter(self, runner) -> None:
        # one clock reading ends this iteration and starts the next (mmcv
        # reads the clock twice and loses the time between the readings)
        now = time.time()
        runner.log_buffer.update({'time': now - self.t})
        self.t = now
