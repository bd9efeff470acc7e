"""AmpOptimWrapper: mixed precision (autocast plus loss scaling) on top of
OptimWrapper, on CUDA and on the CPU (mmengine refuses the CPU)."""
import contextlib
from typing import Iterator, Optional, Union

import torch
import torch.nn as nn

from engine.registry import OPTIM_WRAPPERS
from .optim_wrapper import OptimWrapper

_DTYPES = {
    'float16': torch.float16,
    'bfloat16': torch.bfloat16,
    'float32': torch.float32,
    'float64': torch.float64,
}
_SCALER_KEYS = {'init_scale', 'growth_factor', 'backoff_factor',
                'growth_interval', 'enabled'}


def _parse_dtype(dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    if dtype is None or isinstance(dtype, torch.dtype):
        if dtype is not None and dtype not in _DTYPES.values():
            raise ValueError(f'dtype should be one of {list(_DTYPES)}, but '
                             f'got {dtype}')
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(f'dtype should be None, a torch.dtype or one of '
                     f'{list(_DTYPES)}, but got {dtype!r}')


def _param_device_type(optimizer: torch.optim.Optimizer) -> str:
    for group in optimizer.param_groups:
        for param in group['params']:
            return param.device.type
    return 'cpu'


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Automatic mixed precision through ``torch.autocast`` and
    ``torch.amp.GradScaler``.

    Args:
        loss_scale: ``'dynamic'`` (GradScaler defaults), a number (a static
            scale: an overflowing step is skipped and the scale is kept; an
            int is accepted, mmengine raises TypeError on it) or a dict of
            GradScaler arguments (init_scale, growth_factor, backoff_factor,
            growth_interval, enabled).
        dtype: autocast dtype: None (bfloat16 on the CPU, float16 on CUDA),
            'float16', 'bfloat16', or the torch dtype. 'float32'/'float64'
            turn autocast off, keeping the loss scaler.
        use_fsdp: use FSDP's ShardedGradScaler.
        **kwargs: OptimWrapper arguments (optimizer, accumulative_counts,
            clip_grad).

    The device (for autocast and for the scaler) is the device of the
    optimizer's parameters; autocast in :meth:`optim_context` follows the
    model's parameters. ``skipped_steps`` counts the updates skipped because
    of inf/NaN gradients.
    """

    valid_dtypes = tuple(_DTYPES)

    def __init__(self,
                 loss_scale: Union[str, float, int, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = _parse_dtype(dtype)
        self._device_type = _param_device_type(self.optimizer)
        if use_fsdp:
            from torch.distributed.fsdp.sharded_grad_scaler import (
                ShardedGradScaler)
            scaler_type = ShardedGradScaler
        else:
            scaler_type = torch.amp.GradScaler
        self._scale_update_param: Optional[float] = None
        if isinstance(loss_scale, str) and loss_scale == 'dynamic':
            scaler_kwargs = {}
        elif (isinstance(loss_scale, (int, float))
              and not isinstance(loss_scale, bool)):
            if not loss_scale > 0:
                raise ValueError('a static loss_scale should be positive, '
                                 f'but got {loss_scale!r}')
            self._scale_update_param = float(loss_scale)
            scaler_kwargs = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            unknown = sorted(set(loss_scale) - _SCALER_KEYS)
            if unknown:
                raise TypeError(f'loss_scale dict got unexpected key(s) '
                                f'{unknown}; accepted keys are '
                                f'{sorted(_SCALER_KEYS)}')
            scaler_kwargs = dict(loss_scale)
        else:
            raise TypeError('loss_scale should be "dynamic", a number or a '
                            'dict of GradScaler arguments, but got '
                            f'{loss_scale!r}')
        self.loss_scaler = scaler_type(self._device_type, **scaler_kwargs)
        self._skipped: Optional[torch.Tensor] = None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of the scaled loss."""
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Unscale, clip, step (skipped on inf/NaN), and update the scale."""
        if self.clip_func is not None:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self._count_skipped()
        self.loss_scaler.update(self._scale_update_param)

    def _count_skipped(self) -> None:
        # GradScaler keeps the inf checks of this step until update(); adding
        # them up as tensors keeps the count free of host syncs.
        state = self.loss_scaler._per_optimizer_states.get(id(self.optimizer))
        found = state.get('found_inf_per_device') if state else None
        if found:
            for value in found.values():
                count = value.sum()
                self._skipped = (count if self._skipped is None else
                                 self._skipped + count.to(self._skipped))

    @property
    def skipped_steps(self) -> int:
        """How many optimizer steps were skipped because of inf/NaN grads."""
        return 0 if self._skipped is None else int(self._skipped)

    @property
    def loss_scale(self) -> float:
        """The current loss scale."""
        return float(self.loss_scaler.get_scale())

    def state_dict(self) -> dict:
        """Optimizer state plus ``loss_scaler`` (the GradScaler state)."""
        state = super().state_dict()
        state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore optimizer and loss-scaler state."""
        state = dict(state_dict)
        scaler_state = state.pop('loss_scaler', None)
        if scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state)

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """``no_sync`` while accumulating, and autocast on the model's device.
        """
        device_type = self._device_type
        for param in model.parameters():
            device_type = param.device.type
            break
        enabled = self.cast_dtype in (None, torch.float16, torch.bfloat16)
        with super().optim_context(model), torch.autocast(
                device_type=device_type,
                dtype=self.cast_dtype,
                enabled=enabled,
                cache_enabled=torch.is_autocast_cache_enabled()):
            yield
