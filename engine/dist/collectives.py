"""Collective operations that are no-ops in a single process.

Tensors are moved to the device the backend needs (CPU for gloo, the current
GPU for nccl) and the results come back on the caller's device.
"""
from typing import Any, Dict, Iterable, List, Optional

import numpy as np
import torch
import torch.distributed as torch_dist

from .utils import (get_comm_device, get_rank, get_world_size,
                    group_or_default)

_REDUCE_OPS = {
    'sum': 'SUM',
    'product': 'PRODUCT',
    'min': 'MIN',
    'max': 'MAX',
    'band': 'BAND',
    'bor': 'BOR',
    'bxor': 'BXOR',
}


def _reduce_op(name: str) -> Any:
    key = name.lower() if isinstance(name, str) else name
    if key not in _REDUCE_OPS:
        raise ValueError(
            f"op must be one of {sorted(_REDUCE_OPS) + ['mean']}, got "
            f'{name!r}')
    return getattr(torch_dist.ReduceOp, _REDUCE_OPS[key])


def all_reduce(data: torch.Tensor,
               op: str = 'sum',
               group: Optional[Any] = None) -> None:
    """Reduce ``data`` in place across processes ('sum', 'mean', 'min',
    'max', 'product', 'band', 'bor', 'bxor')."""
    world_size = get_world_size(group)
    is_mean = isinstance(op, str) and op.lower() == 'mean'
    reduce_op = _reduce_op('sum' if is_mean else op)
    if world_size == 1:
        return
    group = group_or_default(group)
    comm = data.to(get_comm_device(group))
    torch_dist.all_reduce(comm, reduce_op, group)
    if is_mean:
        comm = torch.true_divide(comm, world_size)
    if comm is not data:
        data.copy_(comm)


def all_gather(data: torch.Tensor,
               group: Optional[Any] = None) -> List[torch.Tensor]:
    """``data`` of every process, in rank order (same shape everywhere)."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = group_or_default(group)
    comm = data.to(get_comm_device(group))
    gathered = [torch.empty_like(comm) for _ in range(world_size)]
    torch_dist.all_gather(gathered, comm, group)
    return [t.to(data.device) for t in gathered]


def gather(data: torch.Tensor,
           dst: int = 0,
           group: Optional[Any] = None) -> List[torch.Tensor]:
    """``data`` of every process on rank ``dst`` (an empty list
    elsewhere)."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = group_or_default(group)
    comm = data.to(get_comm_device(group))
    is_dst = get_rank(group) == dst
    gathered = [torch.empty_like(comm)
                for _ in range(world_size)] if is_dst else None
    torch_dist.gather(comm, gathered, dst, group)
    return [t.to(data.device) for t in gathered] if is_dst else []


def broadcast(data: torch.Tensor,
              src: int = 0,
              group: Optional[Any] = None) -> None:
    """Overwrite ``data`` in place with rank ``src``'s."""
    if get_world_size(group) == 1:
        return
    group = group_or_default(group)
    comm = data.to(get_comm_device(group)).contiguous()
    torch_dist.broadcast(comm, src, group)
    if comm is not data:
        data.copy_(comm)


def broadcast_object_list(data: List[Any],
                          src: int = 0,
                          group: Optional[Any] = None) -> None:
    """Replace the items of ``data`` in place with rank ``src``'s (any
    picklable objects)."""
    if not isinstance(data, list):
        raise TypeError(f'data must be a list, got {type(data).__name__}')
    if get_world_size(group) > 1:
        torch_dist.broadcast_object_list(data, src,
                                         group_or_default(group))


def all_gather_object(data: Any, group: Optional[Any] = None) -> List[Any]:
    """The picklable ``data`` of every process, in rank order."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    gathered: List[Any] = [None] * world_size
    torch_dist.all_gather_object(gathered, data,
                                 group_or_default(group))
    return gathered


def gather_object(data: Any,
                  dst: int = 0,
                  group: Optional[Any] = None) -> Optional[List[Any]]:
    """The picklable ``data`` of every process on rank ``dst`` (None
    elsewhere)."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = group_or_default(group)
    is_dst = get_rank(group) == dst
    gathered = [None] * world_size if is_dst else None
    torch_dist.gather_object(data, gathered, dst, group)
    return gathered


def all_reduce_dict(data: Dict[str, torch.Tensor],
                    op: str = 'sum',
                    group: Optional[Any] = None) -> None:
    """Reduce every tensor of ``data`` in place, in one communication."""
    if not isinstance(data, dict):
        raise TypeError(f'data must be a dict, got {type(data).__name__}')
    if get_world_size(group) == 1:
        return
    keys = sorted(data)
    flat = torch.cat([data[k].flatten() for k in keys])
    all_reduce(flat, op=op, group=group)
    for key, chunk in zip(keys,
                          torch.split(flat, [data[k].numel() for k in keys])):
        data[key] = chunk.reshape(data[key].shape)


def all_reduce_params(params: Iterable[torch.Tensor],
                      coalesce: bool = True,
                      bucket_size_mb: int = -1,
                      op: str = 'sum',
                      group: Optional[Any] = None) -> None:
    """Reduce parameters or buffers in place (their ``.data``), one flat
    tensor per dtype when ``coalesce``.

    ``bucket_size_mb`` is accepted for compatibility; buckets are per dtype.
    """
    if get_world_size(group) == 1:
        return
    tensors = [p.data for p in params]
    if not coalesce:
        for tensor in tensors:
            all_reduce(tensor, op=op, group=group)
        return
    by_type: Dict[Any, List[torch.Tensor]] = {}
    for tensor in tensors:
        by_type.setdefault((tensor.dtype, tensor.device), []).append(tensor)
    for bucket in by_type.values():
        flat = torch.cat([t.flatten() for t in bucket])
        all_reduce(flat, op=op, group=group)
        for tensor, chunk in zip(bucket,
                                 torch.split(flat,
                                             [t.numel() for t in bucket])):
            tensor.copy_(chunk.view_as(tensor))


def collect_results(results: list,
                    size: int,
                    device: str = 'cpu',
                    tmpdir: Optional[str] = None) -> Optional[list]:
    """Gather per-rank results on rank 0 in dataset order.

    Rank r holds the results of samples r, r + W, r + 2W, ... (the default
    sampler's sharding), so they are interleaved back and cut to ``size``,
    which drops the padding the sampler added. Other ranks get None.
    ``device`` and ``tmpdir`` are accepted for compatibility: objects always
    travel through the process group.
    """
    if device not in ('cpu', 'gpu', 'npu'):
        raise ValueError(
            f"device must be 'cpu', 'gpu' or 'npu', got {device!r}")
    world_size = get_world_size()
    if world_size == 1:
        return list(results[:size])
    parts = all_gather_object(list(results))
    if get_rank() != 0:
        return None
    ordered = []
    for index in range(max(len(part) for part in parts)):
        ordered.extend(part[index] for part in parts if index < len(part))
    return ordered[:size]


def sync_random_seed(seed: Optional[int] = None,
                     group: Optional[Any] = None) -> int:
    """A seed shared by all processes: rank 0's ``seed`` (random when
    None).

    Samplers need the same shuffling order on every rank to split one
    permutation between them.
    """
    if seed is None:
        seed = np.random.randint(2**31)
    elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f'seed must be an int or None, got {seed!r}')
    if get_world_size(group) == 1:
        return int(seed)
    group = group_or_default(group)
    value = torch.tensor(int(seed), dtype=torch.int64,
                         device=get_comm_device(group))
    torch_dist.broadcast(value, src=0, group=group)
    return int(value.item())
