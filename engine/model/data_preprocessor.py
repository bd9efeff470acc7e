"""Data preprocessors: the first step of ``train_step``/``val_step``, moving a
batch from the dataloader to the model's device (and, for images,
normalizing, flipping channels and padding)."""
import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.registry import MODELS
from .utils import stack_batch


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Moves every tensor of a batch (nested in dicts, lists, tuples and
    namedtuples) to :attr:`device`; objects with their own ``to()`` method
    are moved too, anything else is passed through.

    When nothing has to move (the usual case on the CPU), the batch is
    returned as it is, without rebuilding its containers: the check is one
    device comparison per tensor. Subclasses that modify the batch must copy
    the containers they change.

    Args:
        non_blocking: passed to ``Tensor.to`` (asynchronous host-to-device
            copies from pinned memory).
    """

    def __init__(self, non_blocking: Optional[bool] = False):
        super().__init__()
        self._non_blocking = bool(non_blocking)
        self._device = torch.device('cpu')

    @property
    def device(self) -> torch.device:
        return self._device

    def cast_data(self, data: Any) -> Any:
        """``data`` with its tensors on :attr:`device`; the same object when
        nothing had to move."""
        cls = type(data)
        if cls is list or cls is tuple or cls is dict:
            # the usual batch: a flat container of tensors already in place
            # (``is_cpu`` spares building a device object per tensor)
            device = self._device
            on_cpu = device.type == 'cpu'
            for item in (data.values() if cls is dict else data):
                if not (isinstance(item, torch.Tensor) and
                        (item.is_cpu if on_cpu else item.device == device)):
                    break
            else:
                return data
        if isinstance(data, torch.Tensor):
            if data.device == self._device:
                return data
            return data.to(self._device, non_blocking=self._non_blocking)
        if isinstance(data, (str, bytes)) or data is None:
            return data
        if isinstance(data, Mapping):
            moved = {key: self.cast_data(value) for key, value in data.items()}
            for key, value in data.items():
                if moved[key] is not value:
                    return moved
            return data
        if isinstance(data, Sequence):
            moved = [self.cast_data(item) for item in data]
            for new, old in zip(moved, data):
                if new is not old:
                    if isinstance(data, tuple) and hasattr(data, '_fields'):
                        return type(data)(*moved)  # namedtuple
                    return type(data)(moved)
            return data
        to = getattr(data, 'to', None)
        if callable(to) and not isinstance(data, nn.Module):
            if self._non_blocking:
                return to(self._device, non_blocking=True)
            return to(self._device)
        return data

    def forward(self, data: Any, training: bool = False) -> Any:
        """Move ``data`` to the device; ``training`` lets subclasses apply
        train-time-only augmentation."""
        return self.cast_data(data)

    def to(self, *args, **kwargs) -> nn.Module:
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device = torch.device(device)
        return super().to(*args, **kwargs)

    def cuda(self,
             device: Optional[Union[int, torch.device]] = None) -> nn.Module:
        if device is None:
            device = torch.cuda.current_device()
        self._device = (
            torch.device('cuda', device)
            if isinstance(device, int) else torch.device(device))
        return super().cuda(device)

    def cpu(self) -> nn.Module:
        self._device = torch.device('cpu')
        return super().cpu()


def _check_mean_std(name: str, values: Any) -> None:
    if (isinstance(values, (str, bytes)) or not isinstance(values, Sequence)
            or len(values) not in (1, 3)):
        raise ValueError(
            f'ImgDataPreprocessor: `{name}` should be a sequence of 1 (gray) '
            f'or 3 (RGB) numbers, but got {values!r}')


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Image batches: channel flip (BGR <-> RGB), conversion to float,
    normalization ``(x - mean) / std`` and padding to a size divisor, for
    ``data['inputs']`` given either as a list of ``(C, H, W)`` tensors
    (stacked after padding to the largest) or as an ``(N, C, H, W)``
    tensor. ``data['data_samples']`` defaults to None.

    Args:
        mean, std: per-channel mean and standard deviation (1 or 3 values),
            both given or both None (no normalization). With channel
            conversion they refer to the converted order.
        pad_size_divisor: padded height and width are multiples of this.
        pad_value: value of the padded pixels.
        bgr_to_rgb, rgb_to_bgr: flip the channel order (at most one).
        non_blocking: see :class:`BaseDataPreprocessor`.
    """

    def __init__(self,
                 mean: Optional[Sequence] = None,
                 std: Optional[Sequence] = None,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False,
                 non_blocking: Optional[bool] = False):
        super().__init__(non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('ImgDataPreprocessor: `bgr_to_rgb` and '
                             '`rgb_to_bgr` cannot both be True')
        if (mean is None) != (std is None):
            raise ValueError('ImgDataPreprocessor: `mean` and `std` should '
                             f'both be given or both be None, but got '
                             f'mean={mean!r}, std={std!r}')
        if not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
            raise ValueError(
                'ImgDataPreprocessor: `pad_size_divisor` should be a '
                f'positive int, but got {pad_size_divisor!r}')
        self._enable_normalize = mean is not None
        if mean is not None:
            _check_mean_std('mean', mean)
            _check_mean_std('std', std)
            self.register_buffer('mean',
                                 torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer('std',
                                 torch.tensor(std).view(-1, 1, 1), False)
        self._channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def _check_channels(self, channels: int, shape: torch.Size) -> None:
        if self._channel_conversion and channels != 3:
            raise ValueError('ImgDataPreprocessor: channel conversion needs 3 '
                             f'channels, but got an input of shape '
                             f'{tuple(shape)}')
        if self._enable_normalize and self.mean.shape[0] == 3 \
                and channels != 3:
            raise ValueError('ImgDataPreprocessor: `mean` has 3 values, so '
                             'inputs must have 3 channels, but got an input '
                             f'of shape {tuple(shape)}')

    def _normalize_one(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 3:
            raise ValueError('ImgDataPreprocessor: each input of a list '
                             'should be a (C, H, W) tensor, but got shape '
                             f'{tuple(image.shape)}')
        self._check_channels(image.shape[0], image.shape)
        if self._channel_conversion:
            image = image[[2, 1, 0], ...]
        # converting after the flip copies the (smaller) integer image once
        image = image.float()
        if self._enable_normalize:
            image = (image - self.mean) / self.std
        return image

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        if not isinstance(data, Mapping) or 'inputs' not in data:
            raise TypeError('ImgDataPreprocessor expects a dict with an '
                            f'`inputs` key, but got {type(data).__name__}')
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ValueError(
                    'ImgDataPreprocessor: `inputs` should be an (N, C, H, W) '
                    'tensor or a list of (C, H, W) tensors, but got a tensor '
                    f'of shape {tuple(inputs.shape)}')
            self._check_channels(inputs.shape[1], inputs.shape)
            if self._channel_conversion:
                inputs = inputs[:, [2, 1, 0], ...]
            inputs = inputs.float()
            if self._enable_normalize:
                inputs = (inputs - self.mean) / self.std
            h, w = inputs.shape[2:]
            divisor = self.pad_size_divisor
            pad_h = math.ceil(h / divisor) * divisor - h
            pad_w = math.ceil(w / divisor) * divisor - w
            if pad_h or pad_w:
                inputs = F.pad(inputs, (0, pad_w, 0, pad_h), 'constant',
                               self.pad_value)
        elif (isinstance(inputs, Sequence) and inputs
              and all(isinstance(item, torch.Tensor) for item in inputs)):
            inputs = stack_batch([self._normalize_one(x) for x in inputs],
                                 self.pad_size_divisor, self.pad_value)
        else:
            raise TypeError(
                'ImgDataPreprocessor: `inputs` should be an (N, C, H, W) '
                'tensor or a non-empty list of (C, H, W) tensors, but got '
                f'{type(inputs).__name__}')
        out = dict(data)
        out['inputs'] = inputs
        out.setdefault('data_samples', None)
        return out
