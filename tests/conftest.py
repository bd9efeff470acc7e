"""Shared test setup.

One intra-op thread per test worker: pytest-xdist already runs one worker per
core, and the parity fixtures were recorded single-threaded.

On a machine with a GPU, the tests marked ``cuda`` need a session of their
own (``pytest -m cuda``, as ``.ci/gpu-check`` runs them). Any other session
hides the GPU from itself, its workers and their children
(``CUDA_VISIBLE_DEVICES`` emptied before CUDA starts) and skips the ``cuda``
tests, saying so. Two reasons: the engine's Runner moves models to the GPU
when there is one (as mmengine's does) while the recorded fixtures are CPU
numbers; and once a process's autograd has seen a GPU, torch refuses
back-propagation in children it forks, which the multi-process tests do.

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

_HIDDEN = 'TRAINBRIDGE_TESTS_HID_THE_GPU'
# Ask NVML, which leaves CUDA itself unstarted, so that hiding the GPU below
# still takes effect in this process.
os.environ.setdefault('PYTORCH_NVML_BASED_CUDA_CHECK', '1')
_HAS_CUDA = torch.cuda.is_available()


def _platform() -> dict:
    return dict(torch=torch.__version__,
                cpu=torch.backends.cpu.get_cpu_capability())


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: runs on the GPU, in a session of its own (pytest '
        '-m cuda); skipped elsewhere')
    config.addinivalue_line(
        'markers', 'recorded_numbers: compares bit for bit with numbers '
        'recorded from mmcv/mmengine; skipped on another torch build or CPU')
    if _HAS_CUDA and (config.option.markexpr or '').strip() != 'cuda':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        os.environ[_HIDDEN] = '1'  # for the workers, which inherit it


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected
def pytest_collection_modifyitems(config, items):
    here = _platform()
    elsewhere = pytest.mark.skip(
        reason=f'numbers recorded from mmcv/mmengine on {RECORDED_ON}; this '
        f'is {here}, whose kernels may round differently in the last bits')
    if os.environ.get(_HIDDEN):
        cuda_skip = pytest.mark.skip(
            reason='the GPU is hidden from this session: run the cuda tests '
            'in a session of their own, pytest -m cuda')
    else:
        cuda_skip = pytest.mark.skip(reason='needs CUDA')
    for item in items:
        if item.get_closest_marker('cuda') is not None and \
                not torch.cuda.is_available():
            item.add_marker(cuda_skip)
        if item.get_closest_marker('recorded_numbers') is not None and \
                here != RECORDED_ON:
            item.add_marker(elsewhere)
