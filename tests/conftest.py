"""Shared test setup.

One intra-op thread per test worker: pytest-xdist already runs one worker per
core, and the parity fixtures were recorded single-threaded.

On a machine with a GPU, every test not marked ``cuda`` sees none: the
engine's Runner moves models to CUDA when it is available (as mmengine's
does), and the recorded fixtures are CPU numbers. ``torch.cuda.is_available``
answers False outside ``cuda`` tests (forked children inherit that), and
child processes started by them find ``CUDA_VISIBLE_DEVICES`` empty. Tests
marked ``cuda`` run on the real device, and skip where there is none. They
need a session of their own (``pytest -m cuda``, as ``.ci/gpu-check`` does):
a process that has run CUDA work cannot fork the multi-process tests (torch
refuses autograd in such children), so in a session that selects both kinds
the ``cuda`` ones are skipped, saying so.

Tests marked ``recorded_numbers`` compare bit for bit with numbers recorded
from the real mmcv 1.7.2 / mmengine 0.10.7 on the reference platform (the
torch build and CPU kernels below). Another torch version or CPU instruction
set rounds differently in the last bits, so elsewhere they are skipped,
saying so; ``benchmarks/parity.py`` still checks our three paths against each
other there, and the fixtures can be re-recorded with the scripts named in
them.
"""
import pytest
import torch

torch.set_num_threads(1)

# Where the fixtures of the real mmcv and mmengine were recorded.
RECORDED_ON = dict(torch='2.13.0+cpu', cpu='AVX512')

_HAS_CUDA = torch.cuda.is_available()
_gpu_visible = {'now': False}
if _HAS_CUDA:
    torch.cuda.is_available = lambda: _gpu_visible['now']


def _platform() -> dict:
    return dict(torch=torch.__version__,
                cpu=torch.backends.cpu.get_cpu_capability())


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: runs on the GPU (skipped without one); the other '
        'tests see no GPU even where there is one')
    config.addinivalue_line(
        'markers', 'recorded_numbers: compares bit for bit with numbers '
        'recorded from mmcv/mmengine; skipped on another torch build or CPU')


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected
def pytest_collection_modifyitems(config, items):
    here = _platform()
    elsewhere = pytest.mark.skip(
        reason=f'numbers recorded from mmcv/mmengine on {RECORDED_ON}; this '
        f'is {here}, whose kernels may round differently in the last bits')
    cuda = [item for item in items if item.get_closest_marker('cuda')]
    if not _HAS_CUDA:
        cuda_skip = pytest.mark.skip(reason='needs CUDA')
    elif len(cuda) < len(items):
        cuda_skip = pytest.mark.skip(
            reason='run the cuda tests in a session of their own: pytest -m '
            'cuda (CUDA work here would break the forking tests)')
    else:
        cuda_skip = None
    for item in cuda:
        if cuda_skip is not None:
            item.add_marker(cuda_skip)
    for item in items:
        if item.get_closest_marker('recorded_numbers') is not None and \
                here != RECORDED_ON:
            item.add_marker(elsewhere)


@pytest.fixture(autouse=True)
def _gpu_for_cuda_tests_only(request, monkeypatch):
    if not _HAS_CUDA:
        yield
        return
    if request.node.get_closest_marker('cuda') is not None:
        _gpu_visible['now'] = True
    else:
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    yield
    _gpu_visible['now'] = False
