"""mmcv's distributed helpers on ``torch.distributed`` and ``engine.dist``.

``init_dist``, ``get_dist_info`` and ``master_only`` are the engine's (its
``init_dist`` picks gloo when there is no GPU, where mmcv insists on nccl);
``allreduce_params``/``allreduce_grads`` average tensors over ranks as mmcv
does, one collective per dtype (or per bucket of ``bucket_size_mb``).
"""
from collections import defaultdict
from typing import Iterable, List

import torch
import torch.distributed as dist
from torch._utils import (_flatten_dense_tensors, _take_tensors,
                          _unflatten_dense_tensors)

from engine.dist import get_dist_info, init_dist, master_only

__all__ = [
    'init_dist', 'get_dist_info', 'master_only', 'allreduce_params',
    'allreduce_grads'
]


def _allreduce_mean(tensors: List[torch.Tensor], world_size: int,
                    coalesce: bool, bucket_size_mb: int) -> None:
    if not coalesce:
        for tensor in tensors:
            dist.all_reduce(tensor.div_(world_size))
        return
    if bucket_size_mb > 0:
        buckets: Iterable = _take_tensors(tensors,
                                          bucket_size_mb * 1024 * 1024)
    else:
        by_type = defaultdict(list)
        for tensor in tensors:
            by_type[tensor.type()].append(tensor)
        buckets = by_type.values()
    for bucket in buckets:
        flat = _flatten_dense_tensors(bucket)
        dist.all_reduce(flat)
        flat.div_(world_size)
        for tensor, synced in zip(bucket,
                                  _unflatten_dense_tensors(flat, bucket)):
            tensor.copy_(synced)


def allreduce_params(params: Iterable[torch.Tensor],
                     coalesce: bool = True,
                     bucket_size_mb: int = -1) -> None:
    """Average parameters or buffers over all ranks, in place."""
    _, world_size = get_dist_info()
    if world_size == 1:
        return
    _allreduce_mean([p.data for p in params], world_size, coalesce,
                    bucket_size_mb)


def allreduce_grads(params: Iterable[torch.nn.Parameter],
                    coalesce: bool = True,
                    bucket_size_mb: int = -1) -> None:
    """Average the gradients of ``params`` over all ranks, in place."""
    grads = [
        p.grad.data for p in params
        if p.requires_grad and p.grad is not None
    ]
    _, world_size = get_dist_info()
    if world_size == 1:
        return
    _allreduce_mean(grads, world_size, coalesce, bucket_size_mb)
