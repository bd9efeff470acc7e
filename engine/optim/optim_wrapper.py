"""OptimWrapper: one object that owns backward, clipping, accumulation and
the optimizer step, so that models call ``update_params(loss)`` and stay
unaware of how the update is done (mmengine 0.10.7 semantics)."""
import contextlib
import logging
from collections import deque
from typing import (Any, Callable, ContextManager, Deque, Dict, List,
                    Optional)

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim import Optimizer

from engine.logging import MessageHub, print_log
from engine.registry import OPTIM_WRAPPERS
from .base import BaseOptimWrapper
from .torch_shortcuts import optimizer_step, optimizer_zero_grad

_NULL_CONTEXT = contextlib.nullcontext()

# Keyword arguments each clipping function accepts; checked up front so a
# misspelt key fails at construction rather than at the first update.
_CLIP_FUNCS = {
    'norm': (torch.nn.utils.clip_grad_norm_, 'grad_norm',
             {'max_norm', 'norm_type', 'error_if_nonfinite', 'foreach'},
             'max_norm'),
    'value': (torch.nn.utils.clip_grad_value_, 'grad_value',
              {'clip_value', 'foreach'}, 'clip_value'),
}


def _parse_clip_grad(clip_grad: Optional[dict]):
    """Validate ``clip_grad`` and return (function, log name, kwargs)."""
    if clip_grad is None:
        return None, None, None
    if not isinstance(clip_grad, dict) or not clip_grad:
        raise TypeError('clip_grad should be None or a non-empty dict such as '
                        'dict(max_norm=1.0) or dict(type="value", '
                        f'clip_value=1.0), but got {clip_grad!r}')
    kwargs = dict(clip_grad)
    clip_type = kwargs.pop('type', 'norm')
    if clip_type not in _CLIP_FUNCS:
        raise ValueError('clip_grad type should be "norm" or "value", but got '
                         f'{clip_type!r}')
    func, name, allowed, required = _CLIP_FUNCS[clip_type]
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f'clip_grad of type {clip_type!r} got unexpected '
                        f'key(s) {unknown}; accepted keys are '
                        f'{sorted(allowed)}')
    if required not in kwargs:
        raise KeyError(f'clip_grad of type {clip_type!r} needs {required!r}, '
                       f'got {clip_grad!r}')
    return func, name, kwargs


def _all_finite(loss: torch.Tensor) -> bool:
    """Whether ``loss`` is finite on every rank (one host sync, and one
    all-reduce when distributed so that all ranks decide alike)."""
    finite = torch.isfinite(loss.detach()).all()
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized() and \
            torch.distributed.get_world_size() > 1:
        flag = finite.to(torch.int32)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
        return bool(flag)
    return bool(finite)


def has_batch_norm(model: nn.Module) -> bool:
    """Whether any sub-module is a batch-norm layer (accumulation warning)."""
    return any(isinstance(m, _BatchNorm) for m in model.modules())


@OPTIM_WRAPPERS.register_module()
class OptimWrapper(BaseOptimWrapper):
    """Wraps an optimizer with gradient accumulation and clipping.

    Args:
        optimizer: the optimizer updating the model.
        accumulative_counts: number of ``update_params`` calls whose gradients
            are summed before one optimizer step. The loss is divided by this
            number, except in the last incomplete window of a run (known once
            :meth:`initialize_count_status` gave ``max_counts``), where it is
            divided by the window's real size.
        clip_grad: ``dict(max_norm=..., norm_type=2, error_if_nonfinite=False)``
            clips by norm (the norm is logged as ``train/grad_norm``);
            ``dict(type='value', clip_value=...)`` clips by value.
        skip_nonfinite_loss: drop the update of an iteration whose loss is
            NaN or infinite instead of applying it (not in mmengine). Deciding
            that before the backward pass means reading the loss on the host
            at every iteration, a device sync that costs throughput on a GPU
            (and one all-reduce per iteration when distributed, so that every
            rank skips together), hence off by default: by default
            ``NonFiniteLossHook`` stops training instead, checking lazily.
            Skipped iterations are listed in :attr:`nonfinite_skips`.
    """

    def __init__(self,
                 optimizer: Optimizer,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None,
                 skip_nonfinite_loss: bool = False):
        if (not isinstance(accumulative_counts, int)
                or isinstance(accumulative_counts, bool)
                or accumulative_counts < 1):
            raise ValueError('accumulative_counts should be an int >= 1, but '
                             f'got {accumulative_counts!r}')
        if not isinstance(skip_nonfinite_loss, bool):
            raise TypeError('skip_nonfinite_loss should be a bool, but got '
                            f'{type(skip_nonfinite_loss).__name__}: '
                            f'{skip_nonfinite_loss!r}')
        super().__init__(optimizer)
        self.skip_nonfinite_loss = skip_nonfinite_loss
        # 1-based iterations (None outside a runner) whose update was skipped
        # and not yet reported; bounded, for runs that diverge for good
        self.nonfinite_skips: Deque[Optional[int]] = deque(maxlen=1000)
        self._accumulative_counts = accumulative_counts
        self.clip_func: Optional[Callable]
        self.clip_func, self.grad_name, self.clip_grad_kwargs = (
            _parse_clip_grad(clip_grad))
        self.message_hub = MessageHub.get_current_instance()
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self._clip_params: List[torch.Tensor] = []
        self._clip_params_groups = -1

    def update_params(  # type: ignore[override]
            self,
            loss: torch.Tensor,
            step_kwargs: Optional[Dict] = None,
            zero_kwargs: Optional[Dict] = None) -> None:
        """Backward ``loss``; step and zero the gradients when due."""
        if self.skip_nonfinite_loss and not _all_finite(loss):
            self._skip_update(step_kwargs, zero_kwargs)
            return
        self.backward(self.scale_loss(loss))
        if self.should_update():
            if step_kwargs:
                self.step(**step_kwargs)
            else:
                self.step()
            if zero_kwargs:
                self.zero_grad(**zero_kwargs)
            else:
                self.zero_grad()

    def _skip_update(self, step_kwargs: Optional[Dict],
                     zero_kwargs: Optional[Dict]) -> None:
        """Count the iteration without back-propagating its loss. A window
        of accumulated gradients ending here still applies what the other
        iterations of the window contributed."""
        self._inner_count += 1
        get_info = getattr(self.message_hub, 'get_info', None)
        iteration = get_info('iter') if get_info is not None else None
        self.nonfinite_skips.append(
            None if iteration is None else iteration + 1)
        if self.should_update():
            if any(p.grad is not None for group in self.optimizer.param_groups
                   for p in group['params']):
                self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """``loss.backward()``, counting the call for accumulation.

        Subclasses overriding this must keep incrementing ``_inner_count``.
        """
        loss.backward(**kwargs)
        self._inner_count += 1

    def zero_grad(self, **kwargs) -> None:
        """``optimizer.zero_grad(**kwargs)``, without torch's profiler record
        when nothing could observe it (see :mod:`.torch_shortcuts`)."""
        optimizer_zero_grad(self.optimizer, **kwargs)

    def step(self, **kwargs) -> None:
        """Clip the gradients if configured, then ``optimizer.step()``
        (without torch's profiler wrapper when nothing could observe it,
        see :mod:`.torch_shortcuts`)."""
        if self.clip_func is not None:
            self._clip_grad()
        optimizer_step(self.optimizer, **kwargs)

    def optim_context(self, model: nn.Module) -> ContextManager:
        """Context for the forward pass of one ``update_params``.

        On accumulating iterations it enters ``model.no_sync()`` (DDP), so the
        gradients are all-reduced only on the iteration that steps. A reusable
        null context is returned otherwise, which costs nothing per iteration.
        """
        if self._accumulative_counts == 1:  # every backward synchronizes
            return _NULL_CONTEXT
        if not self.should_sync() and hasattr(model, 'no_sync'):
            return model.no_sync()
        return _NULL_CONTEXT

    def _params_to_clip(self) -> List[torch.Tensor]:
        groups = self.optimizer.param_groups
        if self._clip_params_groups != len(groups):
            self._clip_params = [p for g in groups for p in g['params']]
            self._clip_params_groups = len(groups)
        return [
            p for p in self._clip_params
            if p.requires_grad and p.grad is not None
        ]

    def _clip_grad(self) -> None:
        """Clip the gradients and log the norm as a tensor (no host sync)."""
        params = self._params_to_clip()
        if not params:
            return
        result = self.clip_func(params, **self.clip_grad_kwargs)
        if result is not None:
            self.message_hub.update_scalar(f'train/{self.grad_name}', result)

    def initialize_count_status(self,
                                model: nn.Module,
                                init_counts: int,
                                max_counts: int,
                                logger: Any = 'current') -> None:
        """Tell the wrapper where the run starts and ends.

        Without it the last incomplete accumulation window never steps; with
        it that window's loss is divided by its real size. ``logger`` (a
        :func:`print_log` target) receives the warnings; the legacy hooks
        pass ``'silent'`` and warn in mmcv's words themselves.
        """
        self._inner_count = init_counts
        self._max_counts = max_counts
        if self._inner_count % self._accumulative_counts != 0:
            print_log(
                f'Resumed at count {init_counts}, which is not a multiple of '
                f'accumulative_counts={self._accumulative_counts}: the '
                'gradients of the interrupted window are lost and the result '
                'may differ slightly.',
                logger=logger,
                level=logging.WARNING)
        if self._accumulative_counts > 1 and has_batch_norm(model):
            print_log(
                'Gradient accumulation may slightly decrease performance '
                'because the model has BatchNorm layers.',
                logger=logger,
                level=logging.WARNING)
        self._remainder_counts = self._max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """Whether the current ``update_params`` call steps the optimizer."""
        return (self._inner_count % self._accumulative_counts == 0
                or self._inner_count == self._max_counts)

    def should_sync(self) -> bool:
        """Whether the coming backward (not yet counted) should all-reduce."""
        count = self._inner_count + 1
        return (count % self._accumulative_counts == 0
                or count == self._max_counts)

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Divide the loss by the size of its accumulation window.

        With ``accumulative_counts=1`` the loss is returned as is: mmengine
        divides by 1, which gives the identical tensor at the cost of one
        extra autograd node per iteration.
        """
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1:
            factor = self._accumulative_counts
        elif self._inner_count < self._max_counts - self._remainder_counts:
            factor = self._accumulative_counts
        else:
            factor = self._remainder_counts
            if factor <= 0:
                raise RuntimeError(
                    f'loss factor is {factor} at count {self._inner_count} '
                    f'with max_counts={self._max_counts}; '
                    'initialize_count_status was given inconsistent '
                    'init_counts/max_counts')
        return loss / factor

    @property
    def inner_count(self) -> int:
        """Number of ``backward`` calls so far (the accumulation counter)."""
        return self._inner_count

    @property
    def max_counts(self) -> int:
        """Total number of counts of the run, -1 when unknown."""
        return self._max_counts

    @property
    def accumulative_counts(self) -> int:
        """How many calls are accumulated per optimizer step."""
        return self._accumulative_counts

    def __repr__(self) -> str:
        return (f'Type: {type(self).__name__}\n'
                f'_accumulative_counts: {self._accumulative_counts}\n'
                f'optimizer: \n{self.optimizer!r}\n')
