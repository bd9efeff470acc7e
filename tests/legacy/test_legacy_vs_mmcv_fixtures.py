"""Log lines, log file records and param groups of legacy runs against those
the real mmcv 1.7.2 produced for the same scenarios (fixtures recorded by
record_fixtures.py from legacy_scenarios.py)."""
import json
from pathlib import Path

import pytest

import legacy
import legacy_scenarios as sc

FIXTURES = Path(__file__).resolve().parent / 'fixtures'


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _first_difference(got: list, expected: list) -> str:
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return (f'first difference at {i}:\n  got      {a!r}\n'
                    f'  expected {b!r}')
    return f'lengths differ: got {len(got)}, expected {len(expected)}'


@pytest.mark.parametrize('name', sorted(sc.LOGGED_RUNS))
def test_logged_run_matches_mmcv(name, tmp_path):
    expected = _fixture('mmcv_logged_runs.json')[name]
    got = sc.logged_run(legacy, name, str(tmp_path))
    assert got['lines'] == expected['lines'], _first_difference(
        got['lines'], expected['lines'])
    assert got['records'] == expected['records'], _first_difference(
        got['records'], expected['records'])


@pytest.mark.parametrize('name', sorted(sc.PARAMWISE_CFGS))
def test_build_optimizer_groups_match_mmcv(name):
    expected = _fixture('mmcv_paramwise.json')[name]
    assert sc.paramwise_groups(legacy, name) == expected
