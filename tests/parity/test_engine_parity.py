"""Our ``engine`` against fixtures recorded from mmengine 0.10.7 (issue 2).

Every scenario of :mod:`.scenarios_engine` runs on ``engine.runner.Runner``
and each aspect of its result must equal the recording bitwise.
"""
import pytest

from .apis import engine_api
from .compare import assert_continues, assert_same, load_fixture
from .scenarios_engine import SCENARIOS

# bit for bit against numbers recorded from mmcv/mmengine (tests/conftest.py)
pytestmark = pytest.mark.recorded_numbers

ASPECTS = ('params', 'lr', 'groups', 'outputs', 'log', 'metrics', 'counters',
           'checkpoints')


def run_ours(scenario_runs, name: str) -> dict:
    return scenario_runs(f'engine-{name}', SCENARIOS[name],
                         engine_api('engine'))


@pytest.mark.parametrize('aspect', ASPECTS)
@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_engine_matches_mmengine(scenario_runs, name, aspect):
    expected = load_fixture(f'engine_{name}')
    actual = run_ours(scenario_runs, name)
    assert sorted(actual) == sorted(expected), 'phases differ'
    for phase in expected:
        assert_same(expected[phase][aspect], actual[phase][aspect],
                    f'engine {name} [{phase}] {aspect}')


def test_engine_resume_equals_uninterrupted(scenario_runs):
    result = run_ours(scenario_runs, 'resume')
    assert_continues(result['uninterrupted'], result['resumed'],
                     len(result['interrupted']['lr']), 'engine resume')
