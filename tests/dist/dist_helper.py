"""Run a function as every rank of a job started like ``torchrun``.

Each rank is a forked process (the parent's imports are reused, so no rank
pays torch's import again) that finds torchrun's variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``) in its environment; the process group is *not* created
here: the code under test does that (``Runner(launcher='pytorch')``,
``legacy.init_dist('pytorch')``...), exactly as under torchrun. Every wait
is bounded and stragglers are killed, so a broken collective fails the test
instead of hanging the suite.
"""
import multiprocessing as mp
import os
import pickle
import queue
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.distributed as torch_dist


@dataclass
class Outcome:
    """What one rank ended with: its return value, or the error it raised
    (``error`` is ``'TypeName: message'``, ``trace`` the traceback)."""
    rank: int
    value: Any = None
    error: Optional[str] = None
    trace: Optional[str] = None
    seconds: float = 0.


def _warm_up() -> None:
    """Pay torch's lazy one-time imports (the first optimizer imports
    ``torch._dynamo``, seconds on a small machine) in the parent, once,
    instead of in every forked child."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def torchrun_env(rank: int, world_size: int, port: int) -> Dict[str, str]:
    """The variables torchrun gives rank ``rank`` of one machine."""
    return dict(
        RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port))


def _entry(fn, rank, env, results) -> None:
    os.environ.update(env)
    torch.set_num_threads(1)
    start = time.monotonic()
    try:
        value = fn(rank)
        # pickled here by value: torch's multiprocessing pickler would share
        # tensor memory, which dies with this process
        results.put((rank, pickle.dumps(value), None, None,
                     time.monotonic() - start))
    except BaseException as exc:  # report everything, the parent decides
        results.put((rank, None, f'{type(exc).__name__}: {exc}',
                     traceback.format_exc(), time.monotonic() - start))
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def run_ranks(fn: Callable[[int], Any],
              world_size: int = 2,
              timeout: float = 60.,
              env: Optional[Callable[[int, int], Dict[str, str]]] = None,
              allow_errors: bool = False) -> List[Outcome]:
    """Call ``fn(rank)`` in ``world_size`` processes; one :class:`Outcome`
    per rank, in rank order.

    Args:
        env: ``env(rank, port)`` gives the variables of rank ``rank``
            (torchrun's by default; Slurm's or MPI's to test those).
        allow_errors: return ranks that raised instead of failing.
    """
    _warm_up()
    ctx = mp.get_context('fork')
    results = ctx.Queue()
    port = free_port()
    make_env = env or (lambda rank, p: torchrun_env(rank, world_size, p))
    procs = [
        ctx.Process(target=_entry,
                    args=(fn, rank, make_env(rank, port), results),
                    daemon=True) for rank in range(world_size)
    ]
    for proc in procs:
        proc.start()
    outcomes: Dict[int, Outcome] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(outcomes) < world_size:
            rank, payload, error, trace, seconds = results.get(
                timeout=max(deadline - time.monotonic(), 0.1))
            value = None if payload is None else pickle.loads(payload)
            outcomes[rank] = Outcome(rank, value, error, trace, seconds)
    except queue.Empty:
        missing = sorted(set(range(world_size)) - set(outcomes))
        raise AssertionError(
            f'ranks {missing} gave no result within {timeout} s (a hung '
            f'collective?); the others: {list(outcomes.values())}') from None
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    ordered = [outcomes[rank] for rank in range(world_size)]
    failed = [o for o in ordered if o.error is not None]
    if failed and not allow_errors:
        raise AssertionError('\n'.join(f'rank {o.rank} failed:\n{o.trace}'
                                       for o in failed))
    return ordered


def values(outcomes: List[Outcome]) -> List[Any]:
    return [o.value for o in outcomes]
