"""Shared test setup.

One intra-op thread per test worker: pytest-xdist already runs one worker per
core, and the parity fixtures were recorded single-threaded.

On a machine with a GPU, every test not marked ``cuda`` sees none: the
engine's Runner moves models to CUDA when it is available (as mmengine's
does), and the recorded fixtures are CPU numbers. Child processes the tests
start are hidden from the GPU too (``CUDA_VISIBLE_DEVICES``). Tests marked
``cuda`` run on the real device, and skip where there is none.
"""
import pytest
import torch

torch.set_num_threads(1)

_HAS_CUDA = torch.cuda.is_available()


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: runs on the GPU (skipped without one); the other '
        'tests see no GPU even where there is one')


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason='needs CUDA')
    for item in items:
        if item.get_closest_marker('cuda') is not None and not _HAS_CUDA:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _cpu_unless_marked_cuda(request, monkeypatch):
    if _HAS_CUDA and request.node.get_closest_marker('cuda') is None:
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    yield
