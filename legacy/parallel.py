"""mmcv's model wrappers: ``train_step``/``val_step`` pass through the wrapper.

An mmcv runner calls ``model.train_step(data_batch, optimizer)`` on the
wrapped model; these wrappers forward that call to the inner module, after
moving the inputs to the wrapper's device (and, for DDP, around the same
bookkeeping DDP does for ``forward``, so gradients are all-reduced in
``backward``). Both are registered as engine model wrappers, so
``engine.model.is_model_wrapper`` and the checkpoint functions unwrap them.
"""
from itertools import chain
from typing import Any, Tuple

import torch
import torch.nn as nn
from torch.nn.parallel import DataParallel, DistributedDataParallel
from torch.nn.parallel.scatter_gather import scatter_kwargs

from engine.model import is_model_wrapper
from engine.model.wrappers import broadcast_buffers_accepted
from engine.registry import MODEL_WRAPPERS, Registry

# mmcv's wrappers have mmcv semantics (train_step(data, optimizer)); they sit
# in their own scope below the engine's registry, beside the engine wrappers
# of the same name.
LEGACY_MODEL_WRAPPERS = Registry('model_wrapper', parent=MODEL_WRAPPERS,
                                 scope='legacy')

__all__ = ['MMDataParallel', 'MMDistributedDataParallel', 'is_module_wrapper']


def is_module_wrapper(module: Any) -> bool:
    """mmcv's name for :func:`engine.model.is_model_wrapper`."""
    return is_model_wrapper(module)


@LEGACY_MODEL_WRAPPERS.register_module()
class MMDataParallel(DataParallel):
    """``DataParallel`` that also forwards ``train_step`` and ``val_step``.

    Without devices (CPU training) the inputs are passed as they are; with
    one GPU they are moved to it. Several GPUs are not supported (as in mmcv:
    use :class:`MMDistributedDataParallel`).
    """

    def __init__(self, *args, dim: int = 0, **kwargs):
        super().__init__(*args, dim=dim, **kwargs)
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        return super().forward(*inputs, **kwargs)

    def scatter(self, inputs: Tuple, kwargs: dict, device_ids) -> Tuple:
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def _step(self, name: str, inputs: Tuple, kwargs: dict):
        if not self.device_ids:
            return getattr(self.module, name)(*inputs, **kwargs)
        if len(self.device_ids) != 1:
            raise RuntimeError(
                f'MMDataParallel.{name} supports one GPU only, got '
                f'device_ids={self.device_ids}; use '
                'MMDistributedDataParallel for several GPUs')
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(
                    'module must have its parameters and buffers on device '
                    f'{self.src_device_obj} (device_ids[0]) but found one of '
                    f'them on device: {t.device}')
        inputs, kwargs = self.scatter(inputs, kwargs, self.device_ids)
        return getattr(self.module, name)(*inputs[0], **kwargs[0])

    def train_step(self, *inputs, **kwargs):
        return self._step('train_step', inputs, kwargs)

    def val_step(self, *inputs, **kwargs):
        return self._step('val_step', inputs, kwargs)


@LEGACY_MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` that also forwards ``train_step`` and
    ``val_step`` through DDP's forward bookkeeping (input placement, buffer
    broadcast, and preparing the reducer so ``backward`` all-reduces).

    On a machine without CUDA, ``device_ids``/``output_device`` (the
    ``device_ids=[int(os.environ['LOCAL_RANK'])]`` of GPU scripts) are
    ignored for a model on the CPU, so the same script runs there with
    gloo; torch (and mmcv) would refuse them.
    """

    def __init__(self, module: nn.Module, *args, **kwargs):
        if not torch.cuda.is_available() and all(
                p.device.type == 'cpu' for p in module.parameters()):
            if args:  # device_ids, output_device given by position
                args = (None, None) + args[2:]
            kwargs.update(
                {k: None
                 for k in ('device_ids', 'output_device') if k in kwargs})
        with broadcast_buffers_accepted():
            super().__init__(module, *args, **kwargs)

    def _step(self, name: str, inputs: Tuple, kwargs: dict):
        inputs, kwargs = self._pre_forward(*inputs, **kwargs)
        output = getattr(self.module, name)(*inputs, **kwargs)
        return self._post_forward(output)

    def train_step(self, *inputs, **kwargs):
        return self._step('train_step', inputs, kwargs)

    def val_step(self, *inputs, **kwargs):
        return self._step('val_step', inputs, kwargs)
