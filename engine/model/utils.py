"""Helpers shared by the models, their preprocessors and wrappers."""
import math
from typing import Any, List, Union

import torch
import torch.nn as nn
import torch.nn.functional as F


def stack_batch(tensor_list: List[torch.Tensor],
                pad_size_divisor: int = 1,
                pad_value: Union[int, float] = 0) -> torch.Tensor:
    """Stack tensors of equal rank into one batch, padding every dimension but
    the first (channels) at its end up to the largest size in the batch,
    rounded up to a multiple of ``pad_size_divisor`` (``<= 0``: no rounding).
    """
    if not isinstance(tensor_list, list):
        raise TypeError('stack_batch expects a list of tensors, but got '
                        f'{type(tensor_list).__name__}')
    if not tensor_list:
        raise ValueError('stack_batch got an empty list of tensors')
    ndims = [tensor.ndim for tensor in tensor_list]
    if len(set(ndims)) != 1:
        raise ValueError('stack_batch expects tensors with the same number of '
                         f'dimensions, but got {ndims}')
    divisor = pad_size_divisor if pad_size_divisor > 0 else 1
    max_sizes = [
        math.ceil(max(sizes) / divisor) * divisor
        for sizes in zip(*(tensor.shape for tensor in tensor_list))
    ]
    pads = []
    for tensor in tensor_list:
        # F.pad takes (left, right) pairs from the last dimension backwards;
        # only the right side is padded, never the channel dimension.
        pad = []
        for size, target in zip(reversed(tensor.shape[1:]),
                                reversed(max_sizes[1:])):
            pad += [0, target - size]
        pads.append(pad)
    if not any(any(pad) for pad in pads):
        return torch.stack(tensor_list)
    return torch.stack([
        F.pad(tensor, pad, value=pad_value) if any(pad) else tensor
        for tensor, pad in zip(tensor_list, pads)
    ])


def run_forward(model: nn.Module, data: Union[dict, tuple, list],
                mode: str) -> Any:
    """Call ``model`` with a preprocessed batch unpacked: a dict as keyword
    arguments, a list or tuple as positional ones."""
    if isinstance(data, dict):
        return model(**data, mode=mode)
    if isinstance(data, (list, tuple)):
        return model(*data, mode=mode)
    raise TypeError('the data preprocessor should return a dict, list or '
                    f'tuple, but returned {type(data).__name__}')
