"""Distributed model wrappers: DDP that knows ``train_step``/``val_step``/
``test_step``, and a wrapper that puts each sub-module in its own DDP (for
models with one optimizer per sub-module, such as GANs)."""
import logging
import warnings
from contextlib import ExitStack, contextmanager
from typing import Any, Dict, Iterator, Union

import torch
import torch.nn as nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from engine.logging import print_log
from engine.registry import MODEL_WRAPPERS
from .utils import run_forward

MODEL_WRAPPERS.register_module(module=DistributedDataParallel)
MODEL_WRAPPERS.register_module(module=DataParallel)


@contextmanager
def broadcast_buffers_accepted() -> Iterator[None]:
    """Build DDP without torch's deprecation warning for ``broadcast_buffers``.

    torch 2.13 deprecates it for ``forward_sync_buffers``, whose False still
    syncs buffers when DDP is built; ``broadcast_buffers=False`` (no sync at
    all), the default of the runners' wrapping, has no other spelling yet, so
    the wrappers keep passing it, and the warning would only be noise.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore', message='`broadcast_buffers` is deprecated',
            category=FutureWarning)
        yield


def is_model_wrapper(model: nn.Module, registry=MODEL_WRAPPERS) -> bool:
    """Whether ``model`` is an instance of a class registered in
    ``registry`` (or one of its child registries): the runner then reaches
    the user's model through ``model.module``."""
    if isinstance(model, tuple(registry.module_dict.values())):
        return True
    children = getattr(registry, 'children', None) or {}
    return any(is_model_wrapper(model, child) for child in children.values())


def _report_params_outside_graph(loss: torch.Tensor, model: nn.Module) -> None:
    """Log every trainable parameter that the autograd graph of ``loss`` does
    not reach (unused in forward, or not used to compute the loss): DDP hangs
    or fails on such parameters without ``find_unused_parameters``."""
    reached = set()
    seen = set()
    stack = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, 'variable', None)
        if variable is not None:
            reached.add(variable)
        stack.extend(next_node for next_node, _ in node.next_functions)
    for name, param in model.named_parameters():
        if param.requires_grad and param not in reached:
            print_log(
                f'{name} with shape {tuple(param.shape)} is not in the '
                'computational graph of the loss',
                logger='current',
                level=logging.ERROR)


@MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` with the engine's step methods.

    ``train_step`` runs the wrapped model's data preprocessor, then its
    ``forward(mode='loss')`` through DDP (so gradients are all-reduced during
    backward), parses the losses with the model's ``parse_losses`` and
    updates through the optimizer wrapper. ``val_step``/``test_step`` call
    the model's own (no gradients to synchronize).

    Args:
        module: the model, usually a ``BaseModel``.
        detect_anomalous_params: log the parameters the loss does not depend
            on after each update (slow; for debugging DDP errors).
        **kwargs: passed to ``DistributedDataParallel``.
    """

    def __init__(self,
                 module: nn.Module,
                 detect_anomalous_params: bool = False,
                 **kwargs):
        with broadcast_buffers_accepted():
            super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    @property
    def data_preprocessor(self) -> nn.Module:
        return self.module.data_preprocessor

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        if self.detect_anomalous_params:
            _report_params_outside_graph(parsed_loss, self)
        return log_vars

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.test_step(data)

    def _run_forward(self, data: Union[dict, tuple, list], mode: str) -> Any:
        return run_forward(self, data, mode)


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(DistributedDataParallel):
    """Wraps every direct sub-module that has trainable parameters in its own
    :class:`MMDistributedDataParallel`, so that updating one of them (a GAN's
    generator) does not make DDP wait for gradients of another (the
    discriminator). ``train_step`` is the model's own: it sees the wrapped
    sub-modules, and calls through them synchronize gradients.

    It subclasses ``DistributedDataParallel`` only to be recognised as one;
    DDP's own state is never built. Calling the wrapper calls the model, and
    ``wrapper.data_preprocessor`` is the model's, so a subclass can override
    ``train_step`` in the same terms as the model would.

    Args:
        module: the model.
        broadcast_buffers, find_unused_parameters, **kwargs: passed to each
            sub-module's DDP.
    """

    def __init__(self,
                 module: nn.Module,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 **kwargs):
        nn.Module.__init__(self)
        self.module = module
        device = torch.device(
            'cuda', torch.cuda.current_device()) if torch.cuda.is_available(
            ) else torch.device('cpu')
        # `.to()` on the model itself keeps a BaseModel's preprocessor device
        module.to(device)
        for name, sub_module in list(module._modules.items()):
            if sub_module is None or not any(
                    p.requires_grad for p in sub_module.parameters()):
                continue
            module._modules[name] = MMDistributedDataParallel(
                module=sub_module,
                broadcast_buffers=broadcast_buffers,
                find_unused_parameters=find_unused_parameters,
                **kwargs)

    @property
    def data_preprocessor(self) -> nn.Module:
        return self.module.data_preprocessor

    def forward(self, *args, **kwargs) -> Any:
        return self.module(*args, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.test_step(data)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip gradient synchronization in every wrapped sub-module."""
        with ExitStack() as stack:
            for sub_module in self.module._modules.values():
                if isinstance(sub_module, DistributedDataParallel):
                    stack.enter_context(sub_module.no_sync())
            yield

    def train(self, mode: bool = True) -> 'MMSeparateDistributedDataParallel':
        # DDP.train would touch DDP state that was never built
        self.training = mode
        self.module.train(mode)
        return self
