"""Averages model buffers (e.g. BatchNorm running statistics) over ranks, so
every rank validates and saves the same model."""
from engine.dist import all_reduce_params, is_distributed
from engine.registry import HOOKS
from .hook import Hook


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """Averages the model's buffers over ranks after each train epoch, and
    before validation unless that was just done. A no-op in one process.

    Whether training is distributed is asked at each call rather than when
    the hook is built, so building it before the process group is harmless.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.called_in_train = False

    def before_val_epoch(self, runner) -> None:
        if is_distributed():
            if not self.called_in_train:
                all_reduce_params(runner.model.buffers(), op='mean')
            self.called_in_train = False

    def after_train_epoch(self, runner) -> None:
        if is_distributed():
            all_reduce_params(runner.model.buffers(), op='mean')
            self.called_in_train = True
