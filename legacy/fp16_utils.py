"""mmcv's mixed-precision helpers on torch.autocast, on CUDA and on the CPU.

``wrap_fp16_model`` switches on the ``fp16_enabled`` flag of the modules that
declare one; methods decorated with ``auto_fp16`` then cast their floating
inputs to the half dtype and run under autocast, and ``force_fp32`` methods
cast back and run with autocast off. mmcv hard-wires ``torch.half`` and CUDA
autocast; here the autocast device follows the module's parameters and the
half dtype may be bfloat16 (``wrap_fp16_model(model, dtype=torch.bfloat16)``),
which is what makes these decorators useful on the CPU.
"""
import functools
from collections import abc
from inspect import getfullargspec
from typing import Callable, Iterable, List, Optional, Union

import numpy as np
import torch
import torch.nn as nn

_HALF_DTYPES = (torch.float16, torch.bfloat16)


def cast_tensor_type(inputs, src_type: torch.dtype, dst_type: torch.dtype):
    """Cast every tensor of dtype ``src_type`` inside ``inputs`` (nested
    mappings and iterables included) to ``dst_type``; other objects are
    returned as they are."""
    if isinstance(inputs, torch.Tensor):
        return inputs.to(dst_type) if inputs.dtype == src_type else inputs
    if isinstance(inputs, (nn.Module, str, bytes, np.ndarray)):
        return inputs
    if isinstance(inputs, abc.Mapping):
        return type(inputs)({
            k: cast_tensor_type(v, src_type, dst_type)
            for k, v in inputs.items()
        })
    if isinstance(inputs, abc.Iterable):
        return type(inputs)(
            cast_tensor_type(item, src_type, dst_type) for item in inputs)
    return inputs


def _device_type(module: nn.Module) -> str:
    for tensor in module.parameters():
        return tensor.device.type
    for tensor in module.buffers():
        return tensor.device.type
    return 'cpu'


def _half_dtype(module: nn.Module) -> torch.dtype:
    return getattr(module, 'fp16_dtype', torch.float16)


def _cast_arguments(func: Callable, apply_to: Optional[Iterable], args: tuple,
                    kwargs: dict, src: torch.dtype, dst: torch.dtype):
    """Cast the positional and keyword arguments named in ``apply_to`` (all
    of them when None); defaults are left alone, as in mmcv."""
    arg_names = getfullargspec(func).args
    names = set(arg_names if apply_to is None else apply_to)
    new_args = tuple(
        cast_tensor_type(arg, src, dst) if name in names else arg
        for name, arg in zip(arg_names, args)) + args[len(arg_names):]
    new_kwargs = {
        name: cast_tensor_type(value, src, dst) if name in names else value
        for name, value in kwargs.items()
    }
    return new_args, new_kwargs


def auto_fp16(apply_to: Optional[Iterable] = None,
              out_fp32: bool = False,
              supported_types: tuple = (nn.Module, )) -> Callable:
    """Decorate a module method so that, once the module's ``fp16_enabled``
    is true, its float32 inputs are cast to the half dtype and it runs under
    autocast. ``apply_to`` names the arguments to cast (all when None);
    ``out_fp32`` casts the outputs back to float32."""

    def decorator(old_func: Callable) -> Callable:

        @functools.wraps(old_func)
        def new_func(*args, **kwargs):
            if not args or not isinstance(args[0], supported_types):
                raise TypeError(
                    '@auto_fp16 can only decorate methods of '
                    f'{supported_types}, but {old_func.__qualname__} was '
                    f'called on {type(args[0]).__name__ if args else None}')
            module = args[0]
            if not getattr(module, 'fp16_enabled', False):
                return old_func(*args, **kwargs)
            half = _half_dtype(module)
            args, kwargs = _cast_arguments(old_func, apply_to, args, kwargs,
                                           torch.float32, half)
            with torch.autocast(device_type=_device_type(module), dtype=half):
                output = old_func(*args, **kwargs)
            if out_fp32:
                output = cast_tensor_type(output, half, torch.float32)
            return output

        return new_func

    return decorator


def force_fp32(apply_to: Optional[Iterable] = None,
               out_fp16: bool = False) -> Callable:
    """Decorate a module method that must compute in float32: once the
    module's ``fp16_enabled`` is true, its half inputs are cast to float32
    and autocast is switched off inside it. ``out_fp16`` casts the outputs
    back to the half dtype."""

    def decorator(old_func: Callable) -> Callable:

        @functools.wraps(old_func)
        def new_func(*args, **kwargs):
            if not args or not isinstance(args[0], nn.Module):
                raise TypeError(
                    '@force_fp32 can only decorate methods of nn.Module, but '
                    f'{old_func.__qualname__} was called on '
                    f'{type(args[0]).__name__ if args else None}')
            module = args[0]
            if not getattr(module, 'fp16_enabled', False):
                return old_func(*args, **kwargs)
            half = _half_dtype(module)
            args, kwargs = _cast_arguments(old_func, apply_to, args, kwargs,
                                           half, torch.float32)
            with torch.autocast(
                    device_type=_device_type(module), enabled=False):
                output = old_func(*args, **kwargs)
            if out_fp16:
                output = cast_tensor_type(output, torch.float32, half)
            return output

        return new_func

    return decorator


def wrap_fp16_model(model: nn.Module,
                    dtype: Union[str, torch.dtype, None] = None) -> None:
    """Switch on mixed precision in every submodule that has an
    ``fp16_enabled`` attribute. Weights stay float32 (autocast does the
    casting); ``dtype`` picks the half type, float16 by default."""
    if dtype is None:
        dtype = torch.float16
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    if dtype not in _HALF_DTYPES:
        raise ValueError('dtype must be float16 or bfloat16 (or their names), '
                         f'got {dtype!r}')
    for module in model.modules():
        if hasattr(module, 'fp16_enabled'):
            module.fp16_enabled = True
            module.fp16_dtype = dtype


class LossScaler:
    """mmcv's own loss scaler (its pre-torch-1.6 fp16 path), kept for code
    that uses it directly; the fp16 hooks use ``torch.amp.GradScaler``.

    Dynamic mode halves the scale on overflow and doubles it after
    ``scale_window`` iterations without one; static mode keeps it fixed.
    """

    def __init__(self,
                 init_scale: float = 2**32,
                 mode: str = 'dynamic',
                 scale_factor: float = 2.,
                 scale_window: int = 1000):
        if mode not in ('dynamic', 'static'):
            raise ValueError(
                f"mode must be 'dynamic' or 'static', got {mode!r}")
        self.cur_scale = init_scale
        self.cur_iter = 0
        self.mode = mode
        self.last_overflow_iter = -1
        self.scale_factor = scale_factor
        self.scale_window = scale_window

    def has_overflow(self, params: List[nn.Parameter]) -> bool:
        """Whether any gradient holds an inf or a NaN (dynamic mode only)."""
        if self.mode != 'dynamic':
            return False
        return any(p.grad is not None and self._has_inf_or_nan(p.grad)
                   for p in params)

    @staticmethod
    def _has_inf_or_nan(x: torch.Tensor) -> bool:
        return not bool(torch.isfinite(x.float().sum()))

    def update_scale(self, overflow: bool) -> None:
        if self.mode != 'dynamic':
            return
        if overflow:
            self.cur_scale = max(self.cur_scale / self.scale_factor, 1)
            self.last_overflow_iter = self.cur_iter
        elif (self.cur_iter - self.last_overflow_iter) % \
                self.scale_window == 0:
            self.cur_scale *= self.scale_factor
        self.cur_iter += 1

    def state_dict(self) -> dict:
        return dict(
            cur_scale=self.cur_scale,
            cur_iter=self.cur_iter,
            mode=self.mode,
            last_overflow_iter=self.last_overflow_iter,
            scale_factor=self.scale_factor,
            scale_window=self.scale_window)

    def load_state_dict(self, state_dict: dict) -> None:
        for key in ('cur_scale', 'cur_iter', 'mode', 'last_overflow_iter',
                    'scale_factor', 'scale_window'):
            setattr(self, key, state_dict[key])

    @property
    def loss_scale(self) -> float:
        return self.cur_scale
