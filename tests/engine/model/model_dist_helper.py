"""Run a function in several CPU processes joined by a gloo process group.

Processes are forked (the parent's imports are reused, so no process pays
torch's import again); every wait is bounded, and children are killed when
the deadline passes, so a broken collective fails the test instead of
hanging it.
"""
import datetime
import multiprocessing as mp
import os
import pickle
import queue
import socket
import traceback
from typing import Any, Callable, List

import torch.distributed as torch_dist


def _warm_up() -> None:
    """Pay torch's lazy one-time imports (the first optimizer imports
    ``torch._dynamo``, seconds on a small machine) in the parent, once,
    instead of in every forked child."""
    import torch
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _entry(fn, rank, world_size, port, results, timeout) -> None:
    os.environ.update(
        MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
        WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    try:
        torch_dist.init_process_group(
            'gloo', rank=rank, world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout))
        try:
            # pickled here by value: torch's multiprocessing pickler would
            # share tensor memory, which dies with this process
            results.put((rank, True, pickle.dumps(fn(rank))))
        finally:
            torch_dist.destroy_process_group()
    except BaseException:  # report everything, the parent re-raises
        results.put((rank, False, traceback.format_exc()))


def run_distributed(fn: Callable[[int], Any],
                    world_size: int = 2,
                    timeout: float = 60.) -> List[Any]:
    """``[fn(0), fn(1), ...]``, each called in its own process with a gloo
    process group of ``world_size`` initialized."""
    _warm_up()
    ctx = mp.get_context('fork')
    results = ctx.Queue()
    port = _free_port()
    procs = [
        ctx.Process(
            target=_entry,
            args=(fn, rank, world_size, port, results, timeout / 2),
            daemon=True) for rank in range(world_size)
    ]
    for proc in procs:
        proc.start()
    outputs, failures = {}, []
    try:
        for _ in range(world_size):
            rank, ok, payload = results.get(timeout=timeout)
            if ok:
                outputs[rank] = pickle.loads(payload)
            else:
                failures.append(f'rank {rank} failed:\n{payload}')
    except queue.Empty:
        failures.append(f'no result after {timeout} s (hung collective?)')
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    if failures:
        raise AssertionError('\n'.join(failures))
    return [outputs[rank] for rank in range(world_size)]
