"""mmcv's SyncBuffersHook."""
from ..dist_utils import allreduce_params
from .hook import HOOKS, Hook


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """Averages the model's buffers (e.g. BatchNorm statistics) over ranks at
    the end of each epoch; a no-op without ``distributed``."""

    def __init__(self, distributed: bool = True) -> None:
        self.distributed = distributed

    def after_epoch(self, runner) -> None:
        if self.distributed:
            allreduce_params(runner.model.buffers())
