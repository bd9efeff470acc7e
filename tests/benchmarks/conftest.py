"""Load the benchmark scripts the way a user runs them, without shadowing.

``benchmarks/`` is not a package and ``tests/parity`` is one named
``parity``, so the scripts are loaded from their files under private module
names, and their folder is appended (never prepended) to ``sys.path`` so
that ``benchlib`` resolves.
"""
import importlib.util
import os
import sys

import pytest

BENCH_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    'benchmarks')
if BENCH_DIR not in sys.path:
    sys.path.append(BENCH_DIR)


def load_script(name: str):
    module_name = f'_bench_script_{name}'
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            module_name, os.path.join(BENCH_DIR, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@pytest.fixture
def parity_script():
    return load_script('parity')


@pytest.fixture
def overhead_script():
    return load_script('overhead')


@pytest.fixture
def reference_script():
    return load_script('reference_runner')
