"""Collate functions: how a list of samples becomes a batch.

``pseudo_collate`` (mmengine's default) only transposes the structure: a
list of ``dict(img=t, label=l)`` becomes ``dict(img=[t, ...], label=[l,
...])`` and tensors are not stacked, leaving that to the data
preprocessor. ``default_collate`` also stacks tensors and numbers like
PyTorch's.
"""
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch.utils.data

from ..registry import FUNCTIONS


def _collate(batch: Sequence, leaf: Callable[[Sequence], Any]) -> Any:
    first = batch[0]
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, tuple) and hasattr(first, '_fields'):
        return type(first)(*(_collate(field, leaf)
                             for field in zip(*batch)))
    if isinstance(first, Sequence):
        size = len(first)
        if any(len(item) != size for item in batch):
            raise RuntimeError(
                'each sample in the batch must have the same number of '
                f'elements, got lengths {[len(item) for item in batch]}')
        fields = [_collate(field, leaf) for field in zip(*batch)]
        if isinstance(first, tuple):
            return fields
        try:
            return type(first)(fields)
        except TypeError:
            return fields
    if isinstance(first, Mapping):
        return type(first)(
            {key: _collate([item[key] for item in batch], leaf)
             for key in first})
    return leaf(batch)


def _as_is(batch: Sequence) -> Sequence:
    return batch


@FUNCTIONS.register_module()
def pseudo_collate(data_batch: Sequence) -> Any:
    """Transpose samples into a batch without stacking anything."""
    return _collate(data_batch, _as_is)


@FUNCTIONS.register_module()
def default_collate(data_batch: Sequence) -> Any:
    """Transpose samples into a batch and stack tensors, arrays and
    numbers."""
    return _collate(data_batch, torch.utils.data.default_collate)
