"""Process-group set-up and queries about this process's place in the job.

Everything here is a cheap no-op answer (rank 0 of 1) when torch.distributed
is not initialized, so single-process code calls it unconditionally.
"""
import datetime
import functools
import os
import warnings
from typing import Any, Callable, Optional, Tuple

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from .env import infer_launcher, parse_launch_env

__all__ = [
    'init_dist', 'infer_launcher', 'is_distributed', 'get_default_group',
    'get_backend', 'get_world_size', 'get_rank', 'get_local_rank',
    'get_local_size', 'get_dist_info', 'is_main_process', 'master_only',
    'barrier', 'get_comm_device'
]


def _timeout(value: Any) -> datetime.timedelta:
    if isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.timedelta(seconds=value)
    raise TypeError(
        f'timeout must be a number of seconds or a datetime.timedelta, got '
        f'{type(value).__name__}: {value!r} (e.g. dist_cfg=dict('
        f"backend='nccl', timeout=1800))")


def init_dist(launcher: str,
              backend: Optional[str] = None,
              init_backend: str = 'torch',
              **kwargs) -> None:
    """Join the process group described by the launcher's environment.

    Args:
        launcher: 'pytorch' (torchrun), 'slurm' or 'mpi'.
        backend: 'nccl', 'gloo', ...; defaults to nccl when CUDA is
            available, else gloo; 'nccl' without CUDA becomes 'gloo' (with
            a warning).
        init_backend: only 'torch' is supported.
        **kwargs: passed to ``torch.distributed.init_process_group``;
            ``timeout`` may be given in seconds. For Slurm, ``port`` sets the
            master port.
    """
    if init_backend != 'torch':
        raise ValueError(
            f"init_backend must be 'torch', got {init_backend!r}")
    if is_distributed():
        raise RuntimeError(
            'torch.distributed is already initialized; init_dist must be '
            'called once per process')
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = _timeout(kwargs['timeout'])
    port = kwargs.pop('port', None)
    use_cuda = torch.cuda.is_available()
    if backend is None:
        backend = 'nccl' if use_cuda else 'gloo'
    elif backend == 'nccl' and not use_cuda:
        # The runners' default (and most old configs) name nccl; it cannot
        # start without a GPU, gloo runs the same script on CPUs.
        warnings.warn("backend 'nccl' needs CUDA GPUs and none is "
                      "available here: using 'gloo' instead")
        backend = 'gloo'
    env = parse_launch_env(
        launcher,
        port=port,
        num_devices=torch.cuda.device_count() if use_cuda else 0)
    os.environ.update(env.as_environ())
    if use_cuda:
        # CUDA cannot be used in forked subprocesses (data-loader workers
        # would crash); CPU-only runs keep the faster default.
        if mp.get_start_method(allow_none=True) is None:
            mp.set_start_method('spawn')
        torch.cuda.set_device(env.local_rank)
    torch_dist.init_process_group(
        backend=backend, rank=env.rank, world_size=env.world_size, **kwargs)


def is_distributed() -> bool:
    """Whether a default process group exists."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_default_group() -> Optional[Any]:
    return torch_dist.distributed_c10d._get_default_group() if (
        is_distributed()) else None


def group_or_default(group: Optional[Any]) -> Any:
    """``group``, or the default process group when it is None."""
    return group if group is not None else get_default_group()


def get_backend(group: Optional[Any] = None) -> Optional[str]:
    """Backend name of ``group`` ('gloo', 'nccl'...), None when not
    distributed."""
    if not is_distributed():
        return None
    return torch_dist.get_backend(group_or_default(group))


def get_world_size(group: Optional[Any] = None) -> int:
    if not is_distributed():
        return 1
    return torch_dist.get_world_size(group_or_default(group))


def get_rank(group: Optional[Any] = None) -> int:
    if not is_distributed():
        return 0
    return torch_dist.get_rank(group_or_default(group))


def get_local_rank() -> int:
    """Rank among the processes of this machine (the launcher's
    LOCAL_RANK)."""
    if not is_distributed():
        return 0
    return int(os.environ.get('LOCAL_RANK', get_rank()))


def get_local_size() -> int:
    """Number of processes on this machine."""
    if not is_distributed():
        return 1
    return int(os.environ.get('LOCAL_WORLD_SIZE', get_world_size()))


def get_dist_info(group: Optional[Any] = None) -> Tuple[int, int]:
    """(rank, world_size); (0, 1) when not distributed."""
    if not is_distributed():
        return 0, 1
    group = group_or_default(group)
    return torch_dist.get_rank(group), torch_dist.get_world_size(group)


def is_main_process(group: Optional[Any] = None) -> bool:
    return get_rank(group) == 0


def master_only(func: Callable) -> Callable:
    """Run ``func`` on rank 0 only; other ranks get None."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if is_main_process():
            return func(*args, **kwargs)
        return None

    return wrapper


def barrier(group: Optional[Any] = None) -> None:
    """Wait for every process of ``group``; nothing when not distributed."""
    if is_distributed():
        torch_dist.barrier(group_or_default(group))


def get_comm_device(group: Optional[Any] = None) -> torch.device:
    """The device tensors must be on for ``group``'s backend."""
    backend = get_backend(group)
    if backend == 'nccl':
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')
