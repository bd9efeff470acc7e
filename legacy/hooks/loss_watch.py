"""The non-finite-loss guard of the legacy optimizer hooks.

mmcv trains on through NaN losses, silently turning every weight into NaN
and saving those weights in its checkpoints. The optimizer hooks see every
loss they back-propagate, so they keep the detached losses of the last
iterations and check them together (one host sync per ``interval``
iterations, at the last iteration, and before a checkpoint is written),
raising :class:`~engine.model.NonFiniteLossError` that names the first bad
iteration and its loss values. ``nonfinite_loss='skip'`` checks each loss
before its backward pass instead (a sync per iteration) and skips that
update; ``None`` keeps mmcv's behaviour.
"""
from typing import Any, List, Optional, Tuple

import torch

from engine.hooks.nonfinite_loss_hook import all_finite
from engine.model import NonFiniteLossError

MODES = ('stop', 'skip', None)


def check_mode(value: Any) -> Optional[str]:
    if value not in MODES:
        raise ValueError(f'nonfinite_loss must be one of {MODES}, but got '
                         f'{value!r}')
    return value


def _values(loss: torch.Tensor, log_vars: Any) -> dict:
    """The loss and the logged values of an iteration, for the message."""
    values = {'loss': loss.item() if loss.numel() == 1 else loss.tolist()}
    if isinstance(log_vars, dict):
        for key, value in log_vars.items():
            if key != 'loss' or not isinstance(value, torch.Tensor):
                values.setdefault(key, value)
    return values


class LossWatch:
    """Pending losses of one optimizer hook (see the module docstring)."""

    def __init__(self, interval: int = 10) -> None:
        self.interval = interval
        # (iteration, epoch, loss, outputs), 1-based counters
        self._pending: List[Tuple[int, int, torch.Tensor, Any]] = []

    def add(self, runner: Any, loss: torch.Tensor) -> None:
        """Remember this iteration's loss; check when due."""
        iteration = runner.iter + 1
        # The loss itself, not a detached copy: after its backward pass it
        # holds no saved tensors, and the check only reads its value. The
        # epoch and the outputs (their log_vars) are for the error message.
        self._pending.append((iteration, runner.epoch + 1, loss,
                              runner.outputs))
        if iteration % self.interval == 0 or iteration == runner.max_iters:
            self.check()

    def check(self) -> None:
        """Check the pending losses now; raise on the first bad one."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if all_finite([loss for _, _, loss, _ in pending]):
            return
        for iteration, epoch, loss, outputs in pending:
            if not bool(torch.isfinite(loss.detach()).all()):
                log_vars = outputs.get('log_vars') if isinstance(
                    outputs, dict) else None
                raise NonFiniteLossError(_values(loss.detach(), log_vars),
                                         iteration=iteration, epoch=epoch)

    @staticmethod
    def finite_or_report(runner: Any, loss: torch.Tensor) -> bool:
        """Skip mode: whether to apply this iteration's update (a host
        sync); a non-finite loss is logged with its iteration."""
        if bool(torch.isfinite(loss.detach()).all()):
            return True
        values = _values(loss.detach(), runner.outputs.get('log_vars'))
        runner.logger.warning(
            f'Skipped the update of iteration {runner.iter + 1}: its loss '
            f'is not finite ({values}); the parameters were left unchanged.')
        return False
