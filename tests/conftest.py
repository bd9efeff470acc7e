"""Shared test setup.

One intra-op thread per test worker: pytest-xdist already runs one worker per
core, and the parity fixtures were recorded single-threaded.

On a machine with a GPU, every test not marked ``cuda`` sees none: the
engine's Runner moves models to CUDA when it is available (as mmengine's
does), and the recorded fixtures are CPU numbers. ``torch.cuda.is_available``
answers False outside ``cuda`` tests (forked children inherit that), and
child processes started by the tests find ``CUDA_VISIBLE_DEVICES`` empty.
Tests marked ``cuda`` run on the real device, and skip where there is none.

Tests marked ``recorded_numbers`` compare bit for bit with numbers recorded
from the real mmcv 1.7.2 / mmengine 0.10.7 on the reference platform (the
torch build and CPU kernels below). Another torch version or CPU instruction
set rounds differently in the last bits, so elsewhere they are skipped,
saying so; ``benchmarks/parity.py`` still checks our three paths against each
other there, and the fixtures can be re-recorded with the scripts named in
them.
"""
import os

import pytest
import torch

torch.set_num_threads(1)

# Where the fixtures of the real mmcv and mmengine were recorded.
RECORDED_ON = dict(torch='2.13.0+cpu', cpu='AVX512')

# An xdist worker inherits the hidden GPU from the controlling process; it
# takes the original setting back before it looks for a GPU itself.
_SAVED = 'TRAINBRIDGE_TESTS_CUDA_VISIBLE_DEVICES'
if _SAVED in os.environ:
    if os.environ[_SAVED] == '<unset>':
        os.environ.pop('CUDA_VISIBLE_DEVICES', None)
    else:
        os.environ['CUDA_VISIBLE_DEVICES'] = os.environ[_SAVED]

# CUDA reads CUDA_VISIBLE_DEVICES once, when this first asks for devices:
# emptying it afterwards hides the GPU from child processes only.
_HAS_CUDA = torch.cuda.is_available()
_gpu_visible = {'now': False}
if _HAS_CUDA:
    os.environ.setdefault(_SAVED, os.environ.get('CUDA_VISIBLE_DEVICES',
                                                 '<unset>'))
    os.environ['CUDA_VISIBLE_DEVICES'] = ''
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


def pytest_collection_modifyitems(config, items):
    no_gpu = pytest.mark.skip(reason='needs CUDA')
    here = _platform()
    elsewhere = pytest.mark.skip(
        reason=f'numbers recorded from mmcv/mmengine on {RECORDED_ON}; this '
        f'is {here}, whose kernels may round differently in the last bits')
    for item in items:
        if item.get_closest_marker('cuda') is not None and not _HAS_CUDA:
            item.add_marker(no_gpu)
        if item.get_closest_marker('recorded_numbers') is not None and \
                here != RECORDED_ON:
            item.add_marker(elsewhere)


@pytest.fixture(autouse=True)
def _gpu_for_cuda_tests_only(request):
    _gpu_visible['now'] = request.node.get_closest_marker('cuda') is not None
    yield
    _gpu_visible['now'] = False
