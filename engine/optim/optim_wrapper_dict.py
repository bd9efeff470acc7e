"""OptimWrapperDict: named optimizer wrappers for models with several
optimizers (GANs), exposed to the runner as one object."""
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from .optim_wrapper import OptimWrapper


class OptimWrapperDict(OptimWrapper):
    """A read-only mapping of name -> OptimWrapper.

    It derives from OptimWrapper only so that ``isinstance`` checks in the
    runner accept it; updates must go through each wrapper (the model knows
    which loss belongs to which optimizer), so ``update_params``, ``backward``,
    ``step`` and ``optim_context`` raise NotImplementedError as in mmengine.
    """

    def __init__(self, **optim_wrapper_dict: OptimWrapper):
        for key, value in optim_wrapper_dict.items():
            if not isinstance(value, OptimWrapper):
                raise TypeError('OptimWrapperDict only accepts OptimWrapper '
                                f'instances, but got {key}: '
                                f'{type(value).__name__}')
        self.optim_wrappers = optim_wrapper_dict

    def _separately(self, what: str):
        raise NotImplementedError(
            f'`{what}` should be called on each optimizer wrapper of the '
            f'OptimWrapperDict separately (keys: {list(self.keys())})')

    def update_params(  # type: ignore[override]
            self,
            loss: torch.Tensor,
            step_kwargs: Optional[Dict] = None,
            zero_kwargs: Optional[Dict] = None) -> None:
        self._separately('update_params')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self._separately('backward')

    def step(self, **kwargs) -> None:
        self._separately('step')

    def optim_context(self, model: nn.Module):
        self._separately('optim_context')

    def zero_grad(self, **kwargs) -> None:
        """Zero the gradients of every wrapper."""
        for optim_wrapper in self.optim_wrappers.values():
            optim_wrapper.zero_grad(**kwargs)

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        """No-op: each wrapper is driven by the model itself."""

    @property
    def param_groups(self) -> Dict[str, List[dict]]:  # type: ignore[override]
        """Param groups keyed by wrapper name."""
        return {k: v.param_groups for k, v in self.optim_wrappers.items()}

    @property
    def defaults(self) -> Dict[str, dict]:  # type: ignore[override]
        """Optimizer defaults keyed by wrapper name."""
        return {k: v.defaults for k, v in self.optim_wrappers.items()}

    def get_lr(self) -> Dict[str, List[float]]:
        """``{name}.lr`` (and ``{name}.base_lr``) for every wrapper."""
        result = {}
        for name, optim_wrapper in self.optim_wrappers.items():
            lrs = optim_wrapper.get_lr()
            if 'base_lr' in lrs:
                result[f'{name}.base_lr'] = lrs['base_lr']
            result[f'{name}.lr'] = lrs['lr']
        return result

    def get_momentum(self) -> Dict[str, List[float]]:
        """``{name}.momentum`` for every wrapper."""
        return {
            f'{name}.momentum': optim_wrapper.get_momentum()['momentum']
            for name, optim_wrapper in self.optim_wrappers.items()
        }

    def state_dict(self) -> dict:
        """State dict of every wrapper, keyed by name."""
        return {k: v.state_dict() for k, v in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load each named state into the wrapper of that name."""
        unknown = sorted(set(state_dict) - set(self.optim_wrappers))
        if unknown:
            raise KeyError(f'state_dict has optimizer wrapper(s) {unknown} '
                           'that this OptimWrapperDict does not have (it has '
                           f'{list(self.optim_wrappers)})')
        for name, state in state_dict.items():
            self.optim_wrappers[name].load_state_dict(state)

    def items(self) -> Iterator[Tuple[str, OptimWrapper]]:
        yield from self.optim_wrappers.items()

    def values(self) -> Iterator[OptimWrapper]:
        yield from self.optim_wrappers.values()

    def keys(self) -> Iterator[str]:
        yield from self.optim_wrappers.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.optim_wrappers)

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise KeyError(f'{key!r} is not in OptimWrapperDict (keys: '
                           f'{list(self.optim_wrappers)}); check the '
                           'optimizer constructor')
        return self.optim_wrappers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __repr__(self) -> str:
        return ''.join(f'name: {name}\n{optim_wrapper!r}'
                       for name, optim_wrapper in self.optim_wrappers.items())
