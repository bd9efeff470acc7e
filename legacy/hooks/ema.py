"""mmcv's EMAHook: an exponential moving average of the parameters kept as
model buffers (so it is saved and resumed with the weights)."""
from typing import Optional

from ..parallel import is_module_wrapper
from .hook import HOOKS, Hook


@HOOKS.register_module()
class EMAHook(Hook):
    """``ema = (1 - m) * ema + m * param`` every ``interval`` iterations,
    with ``m = min(momentum, (1 + iter) / (warm_up + iter))``; the averaged
    weights are swapped into the model for the end of each epoch (evaluation
    and checkpointing) and swapped back at the next epoch start.

    Args:
        momentum: the update weight of the current parameters.
        interval: update every ``interval`` iterations.
        warm_up: during the first iterations a smaller momentum is used.
        resume_from: a checkpoint to resume from in ``before_run``.
    """

    def __init__(self,
                 momentum: float = 0.0002,
                 interval: int = 1,
                 warm_up: int = 100,
                 resume_from: Optional[str] = None) -> None:
        if not isinstance(interval, int) or interval <= 0:
            raise ValueError(
                f'interval must be a positive int, got {interval!r}')
        if not 0 < momentum < 1:
            raise ValueError(f'momentum must be in (0, 1), got {momentum!r}')
        self.warm_up = warm_up
        self.interval = interval
        self.momentum = momentum**interval
        self.checkpoint = resume_from

    def before_run(self, runner) -> None:
        model = runner.model
        if is_module_wrapper(model):
            model = model.module
        self.param_ema_buffer = {}
        self.model_parameters = dict(model.named_parameters(recurse=True))
        for name, value in self.model_parameters.items():
            # buffer names may not contain '.'
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffer[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers(recurse=True))
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def after_train_iter(self, runner) -> None:
        curr_step = runner.iter
        momentum = min(self.momentum,
                       (1 + curr_step) / (self.warm_up + curr_step))
        if curr_step % self.interval != 0:
            return
        for name, parameter in self.model_parameters.items():
            buffer = self.model_buffers[self.param_ema_buffer[name]]
            buffer.mul_(1 - momentum).add_(parameter.data, alpha=momentum)

    def after_train_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def before_train_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def _swap_ema_parameters(self) -> None:
        for name, value in self.model_parameters.items():
            temp = value.data.clone()
            ema_buffer = self.model_buffers[self.param_ema_buffer[name]]
            value.data.copy_(ema_buffer.data)
            ema_buffer.data.copy_(temp)
