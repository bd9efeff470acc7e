"""Shared by the fault-injection tests: running training jobs in child
processes that can be killed or signalled, and comparing their results.

Children are forked from the test process rather than started from a fresh
interpreter: they are real processes (a SIGKILL kills them for real, a
signal goes through their handlers), but they start in milliseconds instead
of paying for ``import torch`` each time.
"""
import itertools
import multiprocessing
import os
import os.path as osp
import time
import traceback
from typing import Any, Callable, Dict

import torch

import child_train

# The first optimizer built in a process imports torch._dynamo (seconds);
# do it once here so that forked children inherit it.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

_FORK = multiprocessing.get_context('fork')
_names = itertools.count()


def unique(prefix: str) -> str:
    """Names for global instances (loggers, message hubs), unique per test
    process."""
    return f'{prefix}_{os.getpid()}_{next(_names)}'


def _run_and_report(target: Callable, error_file: str, args: tuple,
                    kwargs: dict) -> None:
    try:
        target(*args, **kwargs)
    except BaseException as e:  # what the user would see, for the test
        with open(error_file, 'w') as f:
            f.write(f'{type(e).__name__}: {e}\n{traceback.format_exc()}')
        os._exit(3)


def start(target: Callable, *args: Any, error_file: str, **kwargs: Any):
    """Run ``target(*args, **kwargs)`` in a forked child; an exception ends
    it with status 3 after writing its type and message to ``error_file``."""
    proc = _FORK.Process(target=_run_and_report,
                         args=(target, error_file, args, kwargs))
    proc.start()
    return proc


def start_job(api: str, work_dir: str, error_file: str, **kwargs: Any):
    return start(child_train.run_job, api, work_dir, error_file=error_file,
                 **kwargs)


def wait_for_file(path: str, proc, timeout: float = 60.0) -> None:
    """Wait until ``path`` exists (the child announced a point it reached)."""
    deadline = time.monotonic() + timeout
    while not osp.exists(path):
        if not proc.is_alive():
            raise AssertionError(f'the child ended (status {proc.exitcode}) '
                                 f'before writing {path}')
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f'timed out waiting for {path}')
        time.sleep(0.005)


def finish(proc, timeout: float = 60.0) -> int:
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        raise AssertionError('the child did not finish in time')
    return proc.exitcode


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def load_params(path: str) -> Dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


def assert_bitwise_equal(expected: Dict[str, torch.Tensor],
                         actual: Dict[str, torch.Tensor]) -> None:
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), (
            f'{key} differs: {expected[key]} != {actual[key]}')


def file_bytes(directory: str, suffix: str = '.pth') -> Dict[str, bytes]:
    """The content of every checkpoint in ``directory`` (to show that a
    fault changed none of them)."""
    result = {}
    for name in sorted(os.listdir(directory)):
        path = osp.join(directory, name)
        if name.endswith(suffix) and osp.isfile(path):
            with open(path, 'rb') as f:
                result[name] = f.read()
    return result


def temp_files(directory: str) -> list:
    return sorted(n for n in os.listdir(directory) if n.endswith('.tmp'))
