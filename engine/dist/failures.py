"""When one rank fails, the others stop with an error that names it.

A rank that raises leaves the others waiting in their next collective.
They do not wait forever: the rank's process ends, its connections close and
the backend fails their collective at once, or, if it is stuck instead, the
process group's timeout (``init_dist(timeout=...)``, i.e.
``env_cfg=dict(dist_cfg=dict(timeout=...))``) ends the wait. Either way the
backend's message ("Connection closed by peer", "Timed out waiting 1000ms")
does not say which rank failed, or why.

:func:`rank_failure_guard` adds that: a rank whose own code raised writes
its rank and error to the process group's key-value store (the one every
rank already reached to start the job) before the error propagates; a rank
whose collective fails reads the store and raises :class:`RankFailedError`
naming the first rank that failed and its error, chained to the backend's
error. The store is only touched on the way out of a failed run, so training
pays nothing for this.
"""
import contextlib
import datetime
import functools
import traceback
from typing import Any, Callable, Iterator, List, Optional, Tuple

import torch.distributed as torch_dist

from .utils import get_rank, is_distributed

__all__ = ['RankFailedError', 'rank_failure_guard', 'report_rank_failures',
           'recorded_failures']

_COUNT_KEY = 'trainbridge/failures'
_ENTRY_KEY = 'trainbridge/failure/{}'
# Store operations on the way out must not wait for the process group's
# (possibly 30 min) timeout when the store's host is gone.
_STORE_TIMEOUT = datetime.timedelta(seconds=10)
# What the backends' errors say when a peer died or a collective timed out.
_COMM_WORDS = ('gloo', 'NCCL', 'Connection closed by peer',
               'Connection reset by peer', 'Timed out waiting', 'c10d')


class RankFailedError(RuntimeError):
    """This rank stopped because another one failed (or could not be
    reached).

    Attributes:
        rank: this process's rank.
        failed_rank: the rank that failed first, None when no rank reported
            an error (one was killed, or is stuck).
        failure: that rank's error, ``'TypeName: message (at file:line)'``.
    """

    def __init__(self, message: str, rank: int, failed_rank: Optional[int],
                 failure: Optional[str]) -> None:
        super().__init__(message)
        self.rank = rank
        self.failed_rank = failed_rank
        self.failure = failure

    def __reduce__(self) -> Tuple[Any, ...]:
        return type(self), (self.args[0], self.rank, self.failed_rank,
                            self.failure)


def _store() -> Optional[Any]:
    get_store = getattr(torch_dist.distributed_c10d, '_get_default_store',
                        None)
    if get_store is None or not is_distributed():
        return None
    return get_store()


def _describe(exc: BaseException) -> str:
    text = f'{type(exc).__name__}: {exc}'
    if len(text) > 2000:
        text = text[:1997] + '...'
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f' (at {last.filename}:{last.lineno} in {last.name})'
    return text


def _record(store: Any, rank: int, exc: BaseException) -> None:
    number = store.add(_COUNT_KEY, 1)
    store.set(_ENTRY_KEY.format(number), f'{rank}\n{_describe(exc)}')


def recorded_failures(store: Optional[Any] = None) -> List[Tuple[int, str]]:
    """``(rank, error)`` of every rank that reported a failure, first
    first. Raises ``torch.distributed.DistError`` when the store cannot be
    reached."""
    store = store or _store()
    if store is None:
        return []
    failures = []
    for number in range(1, store.add(_COUNT_KEY, 0) + 1):
        rank, _, error = store.get(
            _ENTRY_KEY.format(number)).decode().partition('\n')
        failures.append((int(rank), error))
    return failures


def _is_comm_error(exc: BaseException) -> bool:
    if isinstance(exc, torch_dist.DistError):
        return True
    return isinstance(exc, RuntimeError) and any(
        word in str(exc) for word in _COMM_WORDS)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _explain(exc: BaseException) -> Optional[RankFailedError]:
    """The error to raise instead of ``exc`` on this rank, or None to
    re-raise ``exc`` itself. This rank's own errors are recorded and kept;
    only a failed collective is explained."""
    rank = get_rank()
    comm_error = _is_comm_error(exc)
    try:
        store = _store()
        if store is None:
            return None
        store.set_timeout(_STORE_TIMEOUT)  # the run is ending anyway
        if not comm_error:
            _record(store, rank, exc)
            return None
        others = [(r, e) for r, e in recorded_failures(store) if r != rank]
    except RuntimeError as store_error:  # DistError: the store is gone
        if not comm_error:
            return None
        return RankFailedError(
            f'rank {rank} stopped: a collective operation failed '
            f'({_first_line(exc)}) and the job\'s store cannot be reached '
            f'({_first_line(store_error)}); the process that hosts it (rank '
            '0, unless the launcher hosts it) has probably failed: see its '
            'log', rank, None, None)
    if others:
        failed_rank, failure = others[0]
        return RankFailedError(
            f'rank {rank} stopped because rank {failed_rank} failed: '
            f'{failure}', rank, failed_rank, failure)
    return RankFailedError(
        f'rank {rank} stopped: a collective operation failed '
        f'({_first_line(exc)}) and no other rank reported an error; one was '
        'probably killed (out of memory?), exited early, or is stuck (the '
        'process group\'s timeout ends such waits)', rank, None, None)


@contextlib.contextmanager
def rank_failure_guard() -> Iterator[None]:
    """Record this rank's own failure for the others, and explain a failed
    collective with the failure another rank recorded (see the module
    docstring). Does nothing in a single process."""
    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        if not is_distributed() or isinstance(exc, RankFailedError):
            raise
        explained = _explain(exc)
        if explained is None:
            raise
        raise explained from exc


def report_rank_failures(func: Callable) -> Callable:
    """Run ``func`` inside :func:`rank_failure_guard`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with rank_failure_guard():
            return func(*args, **kwargs)

    return wrapper
