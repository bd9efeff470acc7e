"""Stops training on a NaN or infinite loss without a per-iteration device
sync: the losses of the last iterations are checked together."""
from typing import List, Optional

import torch

from engine.model import NonFiniteLossError
from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`~engine.model.NonFiniteLossError` naming the first
    iteration whose loss was NaN or infinite, with all its loss values.

    Checking a loss means reading it on the host, which waits for the device.
    So the hook only keeps a reference to each iteration's (detached) loss
    tensors and checks them all at once every ``interval`` iterations (by
    default the logger's interval, so the wait coincides with logging's), at
    the end of each epoch and of training, and before any checkpoint is
    written, so that no checkpoint is saved from non-finite weights. The
    error thus comes up to ``interval - 1`` iterations after the bad one, but
    names the bad one.

    The losses checked are the tensor entries of ``train_step``'s output
    whose key contains ``'loss'``.

    Args:
        interval: check every this many train iterations.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 10) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('NonFiniteLossHook: `interval` must be a '
                             f'positive int, but got {interval!r}')
        self.interval = interval
        self._pending: List[dict] = []
        self._first_iter = 0

    def before_train(self, runner) -> None:
        self._pending = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not self._pending:
            self._first_iter = runner.iter
        self._pending.append(outputs)
        if (runner.iter + 1) % self.interval == 0:
            self.check()

    def after_train_epoch(self, runner) -> None:
        self.check()

    def after_train(self, runner) -> None:
        self.check()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.check()

    def check(self) -> None:
        """Check the pending losses now (one device sync)."""
        pending, self._pending = self._pending, []
        per_iter = [[
            value for key, value in outputs.items()
            if 'loss' in key and isinstance(value, torch.Tensor)
        ] if isinstance(outputs, dict) else [] for outputs in pending]
        flat = [value for values in per_iter for value in values]
        if not flat:
            return
        if all(value.ndim == 0 for value in flat):
            stacked = torch.stack(flat)
        else:
            stacked = torch.cat([value.reshape(-1) for value in flat])
        if bool(torch.isfinite(stacked).all()):
            return
        for index, values in enumerate(per_iter):
            if all(bool(torch.isfinite(value).all()) for value in values):
                continue
            losses = {
                key: (value.item() if value.numel() == 1 else value.tolist())
                for key, value in pending[index].items()
                if isinstance(value, torch.Tensor)
            }
            raise NonFiniteLossError(
                losses, iteration=self._first_iter + index + 1)
