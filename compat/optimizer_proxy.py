"""Optimizer-like stand-ins for models that drive their own updates.

A legacy model whose ``train_step(data, optimizer)`` calls
``optimizer.zero_grad()``, ``loss.backward()`` and ``optimizer.step()``
itself (a GAN with ``optimizer_config=None``) receives one of these instead
of the bare ``torch.optim`` object. ``step``/``zero_grad`` go through the
engine's ``OptimWrapper`` (so gradient clipping configured there applies and
the wrapper's bookkeeping stays right), while ``param_groups``, ``state`` and
``state_dict`` are the wrapped optimizer's own objects: the engine's
schedulers, logger and checkpoints see exactly what the model changes.

``isinstance(proxy, torch.optim.SGD)`` holds, as it did for the object mmcv
passed, because the proxy reports the optimizer's class (the technique
``unittest.mock`` uses for ``spec``).
"""
from typing import Any, Callable, Optional

__all__ = ['OptimizerProxy', 'OptimizerProxyDict', 'make_optimizer_proxy']


_OWN = frozenset(('_wrapper', '_optimizer', '_model_name', '_amp', 'steps'))


class OptimizerProxy:
    """A ``torch.optim.Optimizer`` look-alike backed by an ``OptimWrapper``.

    Args:
        optim_wrapper: the engine wrapper (not an ``OptimWrapperDict``).
        model_name: named in errors.

    Attributes:
        steps: how many times the model called :meth:`step`; the adapter
            uses it to tell a self-optimizing model from one that leaves the
            update to the runner.
    """

    def __init__(self, optim_wrapper: Any, model_name: str = 'the model'):
        object.__setattr__(self, '_wrapper', optim_wrapper)
        object.__setattr__(self, '_optimizer', optim_wrapper.optimizer)
        object.__setattr__(self, '_model_name', model_name)
        object.__setattr__(self, 'steps', 0)
        object.__setattr__(self, '_amp', hasattr(optim_wrapper, 'loss_scaler'))

    @property  # type: ignore[misc]
    def __class__(self):  # noqa: D401 - isinstance support, see module doc
        return type(self._optimizer)

    @property
    def optim_wrapper(self) -> Any:
        """The engine wrapper behind this proxy."""
        return self._wrapper

    @property
    def param_groups(self) -> list:
        return self._optimizer.param_groups

    @property
    def state(self) -> Any:
        return self._optimizer.state

    @property
    def defaults(self) -> dict:
        return self._optimizer.defaults

    def step(self, closure: Optional[Callable] = None) -> Any:
        """One optimizer step through the wrapper (clipping included)."""
        if self._amp:
            raise RuntimeError(
                f'{self._model_name}.train_step calls optimizer.step() after '
                'its own loss.backward(), so an AmpOptimWrapper cannot scale '
                'its loss: mixed precision with loss scaling needs the update '
                'to go through optim_wrapper.update_params(loss). Use a plain '
                'OptimWrapper for this model (mmcv had no fp16 for '
                'optimizer_config=None either).')
        object.__setattr__(self, 'steps', self.steps + 1)
        if closure is None:
            return self._wrapper.step()
        return self._wrapper.step(closure=closure)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._wrapper.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return self._optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self._optimizer.load_state_dict(state_dict)

    def add_param_group(self, param_group: dict) -> None:
        self._optimizer.add_param_group(param_group)

    def __getattr__(self, name: str) -> Any:
        if name in _OWN:  # half-built (copy/pickle): no recursion
            raise AttributeError(name)
        return getattr(self._optimizer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._optimizer, name, value)

    def __repr__(self) -> str:
        return repr(self._optimizer)


class OptimizerProxyDict(dict):
    """``{name: OptimizerProxy}`` for an ``OptimWrapperDict``: a real dict,
    as mmcv passed a dict of optimizers to multi-optimizer models."""

    @property
    def steps(self) -> int:
        return sum(proxy.steps for proxy in self.values())


def make_optimizer_proxy(optim_wrapper: Any, model_name: str) -> Any:
    """The proxy (or dict of proxies) matching ``optim_wrapper``."""
    from engine.optim import OptimWrapperDict
    if isinstance(optim_wrapper, OptimWrapperDict):
        return OptimizerProxyDict(
            (name, OptimizerProxy(wrapper, model_name))
            for name, wrapper in optim_wrapper.items())
    return OptimizerProxy(optim_wrapper, model_name)
