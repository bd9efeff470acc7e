"""Our ``legacy`` against fixtures recorded from mmcv 1.7.2 (issue 3).

Every scenario of :mod:`.scenarios_legacy` runs against ``legacy`` and each
aspect of its result must equal the recording bitwise, with one deliberate
exception: mmcv resumes an ``IterBasedRunner`` one iteration early and from
the start of the data (see docs/parity.md); ``legacy`` must instead continue
exactly where the interrupted run stopped.
"""
import pytest

from .apis import legacy_api
from .compare import FIXTURES, assert_continues, assert_same, load_fixture
from .scenarios_legacy import SCENARIOS, STORED_CHECKPOINTS

# bit for bit against numbers recorded from mmcv/mmengine (tests/conftest.py)
pytestmark = pytest.mark.recorded_numbers

ASPECTS = ('params', 'lr', 'groups', 'outputs', 'log', 'counters',
           'checkpoints')
# (scenario, phase) where mmcv is wrong and the phase must instead continue
# the uninterrupted run.
MMCV_BUGS = {('iter_checkpoint_resume', 'resumed')}


def run_ours(scenario_runs, name: str) -> dict:
    return scenario_runs(f'legacy-{name}', SCENARIOS[name].run,
                         legacy_api('legacy'))


@pytest.mark.parametrize('aspect', ASPECTS)
@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_legacy_matches_mmcv(scenario_runs, name, aspect):
    expected = load_fixture(f'legacy_{name}')
    actual = run_ours(scenario_runs, name)
    assert sorted(actual) == sorted(expected), 'phases differ'
    for phase in expected:
        if (name, phase) not in MMCV_BUGS:
            assert_same(expected[phase][aspect], actual[phase][aspect],
                        f'legacy {name} [{phase}] {aspect}')


@pytest.mark.parametrize('name', sorted(STORED_CHECKPOINTS))
def test_legacy_resume_equals_uninterrupted(scenario_runs, name):
    result = run_ours(scenario_runs, name)
    assert_continues(result['uninterrupted'], result['resumed'],
                     len(result['interrupted']['lr']), f'legacy {name}')


@pytest.mark.parametrize('name', sorted(STORED_CHECKPOINTS))
def test_legacy_resumes_real_mmcv_checkpoint(scenario_runs, name):
    """A checkpoint written by mmcv 1.7.2 itself resumes in ``legacy`` and
    the run ends where mmcv's uninterrupted run ends."""
    (checkpoint,) = STORED_CHECKPOINTS[name].values()
    expected = load_fixture(f'legacy_{name}')
    resumed = scenario_runs(
        f'legacy-{name}-from-mmcv', SCENARIOS[name].train,
        legacy_api('legacy'), resume_from=FIXTURES / checkpoint)
    assert_continues(expected['uninterrupted'], resumed,
                     len(expected['interrupted']['lr']),
                     f'legacy {name} resumed from mmcv\'s {checkpoint}')
