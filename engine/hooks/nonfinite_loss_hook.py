"""Stops training on a NaN or infinite loss without a per-iteration device
sync: the losses of the last iterations are checked together. Also reports
the updates skipped because of non-finite values (dynamic loss scaling, or
the opt-in skip mode)."""
import math
from typing import Any, List, Optional

import torch

from engine.model import NonFiniteLossError
from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook

ACTIONS = ('stop', 'skip')


def all_finite(tensors: List[torch.Tensor]) -> bool:
    """Whether every element of ``tensors`` is finite, with one device sync
    for all of them.

    Scalars on the CPU are read directly (no sync, cheaper than launching
    kernels) and summed: a non-finite value makes the sum non-finite, and
    only then (or when finite values overflow the sum) are they looked at
    one by one. The others are checked together in one batched kernel.
    """
    total = 0.0
    remote = []
    for tensor in tensors:
        if tensor.is_cpu and tensor.numel() == 1:
            total += tensor.item()
        else:
            remote.append(tensor)
    if not math.isfinite(total) and not all(
            math.isfinite(t.item()) for t in tensors
            if t.is_cpu and t.numel() == 1):
        return False
    if not remote:
        return True
    return bool(
        torch.isfinite(torch.cat([t.reshape(-1) for t in remote])).all())


def _loss_tensors(outputs: Any) -> List[torch.Tensor]:
    """The losses checked in ``train_step``'s output: its tensor entries
    whose key contains ``'loss'`` (none when it is not a dict)."""
    if not isinstance(outputs, dict):
        return []
    return [value for key, value in outputs.items()
            if 'loss' in key and isinstance(value, torch.Tensor)]


def _wrappers(runner: Any) -> list:
    """The runner's optimizer wrappers (each one of an OptimWrapperDict)."""
    from engine.optim import OptimWrapper, OptimWrapperDict
    wrapper = getattr(runner, 'optim_wrapper', None)
    if isinstance(wrapper, OptimWrapperDict):
        return list(wrapper.values())
    return [wrapper] if isinstance(wrapper, OptimWrapper) else []


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop (default) on a NaN or infinite loss, naming the first iteration
    it happened in and all its loss values; or let the optimizer wrappers
    skip those updates (``action='skip'``).

    ``action='stop'``: reading a loss on the host waits for the device, so
    the hook only keeps a reference to each iteration's (detached) loss
    tensors and checks them all at once every ``interval`` iterations (the
    logger's default interval, so the wait coincides with logging's), at the
    end of each epoch and of training, and before any checkpoint is written,
    so that no checkpoint is saved from non-finite weights. The error thus
    comes up to ``interval - 1`` iterations after the bad one, but names the
    bad one. The losses checked are the tensor entries of ``train_step``'s
    output whose key contains ``'loss'``. Cost: one small kernel launch and
    one sync per ``interval`` iterations.

    ``action='skip'``: turns on ``skip_nonfinite_loss`` of every optimizer
    wrapper, which checks the loss before its backward pass and drops that
    update (the parameters are unchanged by that iteration). This is a sync
    at every iteration, hence opt-in.

    In both modes the updates skipped since the last check are logged at
    each check: those of the skip mode with their iterations, and the steps
    an ``AmpOptimWrapper`` skipped because its loss scale made gradients
    overflow (normal at the start of dynamic loss scaling, so logged at INFO
    level, with the current scale).

    Args:
        interval: check every this many train iterations.
        action: ``'stop'`` or ``'skip'``.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 10, action: str = 'stop') -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or \
                interval < 1:
            raise ValueError('NonFiniteLossHook: `interval` must be a '
                             f'positive int, but got {interval!r}')
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: `action` must be one of '
                             f'{ACTIONS}, but got {action!r}')
        self.interval = interval
        self.action = action
        self._pending: List[dict] = []
        self._first_iter = 0
        self._runner: Any = None
        self._optim_wrappers: list = []
        self._amp_reported: dict = {}
        self._collect = action == 'stop'
        self._count = 0  # iterations since the last check

    def before_train(self, runner) -> None:
        self._pending = []
        self._count = 0
        self._runner = runner
        self._amp_reported = {}
        # looked up once; _report_skips goes through them at every check
        self._optim_wrappers = wrappers = _wrappers(runner)
        for wrapper in wrappers:
            if self.action == 'skip':
                wrapper.skip_nonfinite_loss = True
            if hasattr(wrapper, 'skipped_steps'):
                self._amp_reported[id(wrapper)] = wrapper.skipped_steps
        # a wrapper configured with skip_nonfinite_loss=True skips on its
        # own; its non-finite losses are then expected, not an error
        self._collect = not any(
            getattr(w, 'skip_nonfinite_loss', False) for w in wrappers)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self._collect:
            if not self._pending:
                self._first_iter = runner.iter
            self._pending.append(outputs)
        self._count += 1
        if self._count >= self.interval:
            self.check()

    def after_train_epoch(self, runner) -> None:
        self.check()

    def after_train(self, runner) -> None:
        self.check()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.check()

    def check(self) -> None:
        """Check the pending losses now (one device sync) and report the
        updates skipped since the last check."""
        self._count = 0
        self._report_skips()
        pending, self._pending = self._pending, []
        losses = [value for outputs in pending
                  for value in _loss_tensors(outputs)]
        if not all_finite(losses):
            self._raise_first_nonfinite(pending)

    def _raise_first_nonfinite(self, pending: List[Any]) -> None:
        """Raise for the first of ``pending`` with a non-finite loss."""
        for index, outputs in enumerate(pending):
            if all(bool(torch.isfinite(value).all())
                   for value in _loss_tensors(outputs)):
                continue
            losses = {
                key: (value.item() if value.numel() == 1 else value.tolist())
                for key, value in outputs.items()
                if isinstance(value, torch.Tensor)
            }
            raise NonFiniteLossError(
                losses, iteration=self._first_iter + index + 1)

    def _report_skips(self) -> None:
        runner = self._runner
        if runner is None:
            return
        for wrapper in self._optim_wrappers:
            skips = getattr(wrapper, 'nonfinite_skips', None)
            if skips:
                count = len(skips)
                iterations = [i for i in skips if i is not None]
                skips.clear()
                runner.logger.warning(
                    f'Skipped the update of {count} iteration(s) with a '
                    'non-finite loss' +
                    (f' (iterations {iterations})' if iterations else '') +
                    '; their parameters were left unchanged.')
            if hasattr(wrapper, 'skipped_steps'):
                total = wrapper.skipped_steps  # a sync, at the interval only
                new = total - self._amp_reported.get(id(wrapper), 0)
                self._amp_reported[id(wrapper)] = total
                if new > 0:
                    runner.logger.info(
                        f'Loss scaling skipped {new} optimizer step(s) with '
                        f'inf/NaN gradients since the last check ({total} in '
                        f'all); the loss scale is now {wrapper.loss_scale}.')
