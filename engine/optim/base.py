"""The optimizer-wrapper interface shared by every wrapper and scheduler.

Schedulers accept either a raw ``torch.optim.Optimizer`` or anything deriving
from :class:`BaseOptimWrapper`, so the scheduling code only has to know this
small surface: ``param_groups``, ``defaults``, ``state_dict`` and
``load_state_dict``.
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional

import torch
from torch.optim import Optimizer


class BaseOptimWrapper(metaclass=ABCMeta):
    """Common state of an optimizer wrapper.

    When the optimizer has several parameter groups (paramwise settings),
    mmengine keeps one extra pseudo group, ``base_param_settings``, holding
    the optimizer's defaults. Schedulers update it like any other group, which
    is how the "base" learning rate stays visible in the logs (``base_lr``)
    even when every real group has a multiplier. We keep that behaviour for
    parity.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError('optimizer should be a torch.optim.Optimizer, '
                            f'but got {type(optimizer).__name__}: '
                            f'{optimizer!r}')
        self.optimizer = optimizer
        self.base_param_settings: Optional[dict] = None
        if len(optimizer.param_groups) > 1:
            self.base_param_settings = {
                'params': torch.tensor([0.0], dtype=torch.float),
                **optimizer.defaults,
            }

    @abstractmethod
    def update_params(self, *args, **kwargs) -> None:
        """Run backward, and step when the accumulation window is full."""

    @abstractmethod
    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate ``loss``."""

    @abstractmethod
    def zero_grad(self, **kwargs) -> None:
        """Clear the gradients."""

    @abstractmethod
    def step(self, **kwargs) -> None:
        """Update the parameters."""

    def state_dict(self) -> dict:
        """The optimizer's state, plus the base settings pseudo group."""
        state = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state['base_param_settings'] = self.base_param_settings
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` produced.

        The caller's dict is left untouched (mmengine pops keys from it, which
        breaks loading the same checkpoint dict twice).
        """
        state = dict(state_dict)
        base = state.pop('base_param_settings', None)
        if base is not None:
            self.base_param_settings = base
        self.optimizer.load_state_dict(state)

    @property
    def param_groups(self) -> List[dict]:
        """The optimizer's groups, followed by the base settings if any."""
        if self.base_param_settings is None:
            return self.optimizer.param_groups
        return self.optimizer.param_groups + [self.base_param_settings]

    @property
    def defaults(self) -> dict:
        """The optimizer's default hyper-parameters."""
        return self.optimizer.defaults

    def get_lr(self) -> Dict[str, List[float]]:
        """Learning rates per group; ``base_lr`` when paramwise groups exist."""
        result = {}
        if self.base_param_settings is not None:
            result['base_lr'] = [self.base_param_settings['lr']]
        result['lr'] = [group['lr'] for group in self.optimizer.param_groups]
        return result

    def get_momentum(self) -> Dict[str, List[float]]:
        """Momentum per group: ``momentum`` (SGD...) or ``betas[0]`` (Adam...),
        0 for optimizers without either."""
        momentum = []
        for group in self.optimizer.param_groups:
            if 'momentum' in group:
                momentum.append(group['momentum'])
            elif 'betas' in group:
                momentum.append(group['betas'][0])
            else:
                momentum.append(0)
        return dict(momentum=momentum)
