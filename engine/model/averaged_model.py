"""Averaged copies of a model (EMA, SWA), updated in place after each
optimizer step and used for validation and saving."""
import logging
from abc import abstractmethod
from copy import deepcopy
from typing import Optional

import torch
import torch.nn as nn

from engine.logging import print_log
from engine.registry import MODELS


class BaseAveragedModel(nn.Module):
    """A frozen copy of ``model`` (on ``device`` if given) whose parameters
    (and buffers with ``update_buffers=True``) are averaged in place by
    :meth:`avg_func` every ``interval`` calls of :meth:`update_parameters`.
    The first call copies the model; without ``update_buffers`` buffers are
    copied on every call.

    The update counter is the ``steps`` buffer (saved in the state dict); a
    Python mirror of it decides when to average, so an update never waits
    for the device.
    """

    def __init__(self,
                 model: nn.Module,
                 interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False) -> None:
        super().__init__()
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval must be a positive int, but got {interval!r}')
        self.module = deepcopy(model).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer('steps',
                             torch.tensor(0, dtype=torch.long, device=device))
        self._steps = 0
        self.update_buffers = update_buffers
        if update_buffers:
            self.avg_parameters = self.module.state_dict()
        else:
            self.avg_parameters = dict(self.module.named_parameters())
        self.register_load_state_dict_post_hook(_resync_steps)

    @abstractmethod
    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        """Average ``source_param`` into ``averaged_param`` in place."""

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        source = (
            model.state_dict()
            if self.update_buffers else dict(model.named_parameters()))
        if self._steps == 0:
            for key, averaged in self.avg_parameters.items():
                averaged.data.copy_(source[key].data)
        elif self._steps % self.interval == 0:
            for key, averaged in self.avg_parameters.items():
                if averaged.dtype.is_floating_point:
                    self.avg_func(averaged.data,
                                  source[key].data.to(averaged.device),
                                  self._steps)
        if not self.update_buffers:
            for averaged, buffer in zip(self.module.buffers(),
                                        model.buffers()):
                averaged.data.copy_(buffer.data.to(averaged.device))
        self.steps += 1
        self._steps += 1


def _resync_steps(module: BaseAveragedModel, incompatible_keys) -> None:
    """After ``load_state_dict`` the ``steps`` buffer may have changed; the
    one host read happens here, at load time."""
    module._steps = int(module.steps)


@MODELS.register_module()
class StochasticWeightAverage(BaseAveragedModel):
    """Stochastic weight averaging: the running mean of the weights taken
    every ``interval`` updates."""

    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        averaged_param.add_(
            source_param - averaged_param,
            alpha=1 / float(steps // self.interval + 1))


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """Exponential moving average of the weights:
    ``ema = (1 - momentum) * ema + momentum * param``.

    Note the convention: ``momentum`` is the weight of the *new* value
    (small, e.g. 0.0002), not the decay of the old one.

    Args:
        model: the model to average.
        momentum: weight of the new weights, in (0, 1).
        interval, device, update_buffers: see :class:`BaseAveragedModel`.
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.0002,
                 interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False) -> None:
        super().__init__(model, interval, device, update_buffers)
        if not 0.0 < momentum < 1.0:
            raise ValueError(
                f'EMA momentum must be in (0, 1), but got {momentum!r}')
        if momentum > 0.5:
            print_log(
                'The EMA momentum is the weight of the new value and is '
                f'usually small, but got {momentum}; make sure this is not '
                'the decay rate (1 - momentum).',
                logger='current',
                level=logging.WARNING)
        self.momentum = momentum

    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        averaged_param.lerp_(source_param, self.momentum)


@MODELS.register_module()
class MomentumAnnealingEMA(ExponentialMovingAverage):
    """EMA whose momentum starts large and anneals:
    ``max(momentum, gamma / (gamma + steps))``.

    Args:
        gamma: the annealing speed (positive).
        model, momentum, interval, device, update_buffers: see
            :class:`ExponentialMovingAverage`.
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.0002,
                 gamma: int = 100,
                 interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False) -> None:
        super().__init__(
            model=model,
            momentum=momentum,
            interval=interval,
            device=device,
            update_buffers=update_buffers)
        if not gamma > 0:
            raise ValueError(f'gamma must be positive, but got {gamma!r}')
        self.gamma = gamma

    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        momentum = max(self.momentum, self.gamma / (self.gamma + steps))
        averaged_param.lerp_(source_param, momentum)
