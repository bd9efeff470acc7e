"""Calling a stock torch optimizer without its profiler bookkeeping.

``Optimizer.step`` is wrapped by torch in a function that opens a profiler
record (``record_function``), runs the step hooks and calls a profiler entry
point, and ``Optimizer.zero_grad`` opens a record too. With no profiler
running and no hook registered, that bookkeeping does nothing observable, yet
on a small model it costs about as much as the update itself (10-15 us per
iteration on a 2-core machine, several percent of the iteration). The
functions here do the same work without it, and fall back to torch's own
methods whenever the bookkeeping could matter: a profiler is running, a step
hook is registered (globally or on the optimizer), the optimizer class
defines its own ``step``/``zero_grad`` outside torch's wrapper, or ``step``
was replaced on the instance (as torch's ``LRScheduler`` does to detect the
call order).
"""
from typing import Any, Callable, Dict, Optional

import torch
import torch.optim.optimizer as _torch_optimizer
from torch.optim import Optimizer

_TORCH_ZERO_GRAD = Optimizer.zero_grad


def _wrapper_code() -> Optional[Any]:
    """The code object shared by every method torch decorates with
    ``profile_hook_step`` (it identifies the wrapper whatever the optimizer
    class); None on a torch without that decorator (no shortcut then)."""
    decorate = getattr(Optimizer, 'profile_hook_step', None)
    try:
        return decorate(lambda self: None).__code__
    except Exception:  # noqa: BLE001 - another torch: use its own methods
        return None


def _always_on() -> bool:
    return True


_WRAPPER_CODE = _wrapper_code()
# Without a way to ask whether a profiler runs, assume one does.
_profiler_enabled = getattr(torch.autograd, '_profiler_enabled', _always_on)
_GLOBAL_PRE_HOOKS = getattr(_torch_optimizer, '_global_optimizer_pre_hooks',
                            None)
_GLOBAL_POST_HOOKS = getattr(_torch_optimizer,
                             '_global_optimizer_post_hooks', None)
_HOOKS_VISIBLE = _GLOBAL_PRE_HOOKS is not None and \
    _GLOBAL_POST_HOOKS is not None
_NO_HOOKS = object()  # an optimizer whose __init__ made no hook dicts

# optimizer class -> the undecorated step, or None when there is none
_inner_steps: Dict[type, Optional[Callable]] = {}


def _inner_step(cls: type) -> Optional[Callable]:
    try:
        return _inner_steps[cls]
    except KeyError:
        step = getattr(cls, 'step', None)
        inner = None
        if _WRAPPER_CODE is not None and _HOOKS_VISIBLE and \
                getattr(step, '__code__', None) is _WRAPPER_CODE:
            inner = getattr(step, '__wrapped__', None)
        _inner_steps[cls] = inner
        return inner


def optimizer_step(optimizer: Optimizer, **kwargs: Any) -> Any:
    """``optimizer.step(**kwargs)``; the same update and return value."""
    inner = _inner_step(optimizer.__class__)
    if (inner is None or _profiler_enabled() or _GLOBAL_PRE_HOOKS
            or _GLOBAL_POST_HOOKS or 'step' in optimizer.__dict__):
        return optimizer.step(**kwargs)
    pre = getattr(optimizer, '_optimizer_step_pre_hooks', _NO_HOOKS)
    post = getattr(optimizer, '_optimizer_step_post_hooks', _NO_HOOKS)
    if pre or post:  # hooks to run (or no hook dicts: torch decides)
        return optimizer.step(**kwargs)
    return inner(optimizer, **kwargs)


def optimizer_zero_grad(optimizer: Optimizer, **kwargs: Any) -> None:
    """``optimizer.zero_grad(**kwargs)``.

    Without arguments, a stock optimizer's ``zero_grad`` sets every
    gradient to ``None`` (``set_to_none=True``); that is done here directly.
    """
    if (kwargs or type(optimizer).zero_grad is not _TORCH_ZERO_GRAD
            or 'zero_grad' in optimizer.__dict__ or _profiler_enabled()):
        optimizer.zero_grad(**kwargs)
        return
    for group in optimizer.param_groups:
        for param in group['params']:
            param.grad = None
