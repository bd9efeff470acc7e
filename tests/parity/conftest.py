"""Runs each scenario once per test process, however many aspects of its
result are checked; a scenario that raises fails every check with the same
error instead of running again."""
from __future__ import annotations

from typing import Callable

import pytest


@pytest.fixture(scope='session')
def scenario_runs(tmp_path_factory) -> Callable:
    done: dict = {}

    def run(key: str, fn: Callable, *args, **kwargs):
        if key not in done:
            work_dir = tmp_path_factory.mktemp(key.replace('/', '-'))
            try:
                done[key] = (fn(*args, work_dir=work_dir, **kwargs), None)
            except Exception as exc:  # re-raised by every check
                done[key] = (None, exc)
        result, error = done[key]
        if error is not None:
            raise error
        return result

    return run
