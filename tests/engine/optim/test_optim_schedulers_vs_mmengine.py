"""engine.optim schedulers against mmengine 0.10.7, bitwise, at every
iteration (fixtures/mmengine_schedulers.json, recorded by
record_schedules.py), including a resume half way through."""
import io
import json
import os
from types import SimpleNamespace

import pytest
import torch

import optim_scenarios as sc
from engine.optim import OptimWrapper
from engine.registry import PARAM_SCHEDULERS

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures',
                       'mmengine_schedulers.json')
with open(FIXTURE) as f:
    RECORDED = json.load(f)

API = SimpleNamespace(OptimWrapper=OptimWrapper,
                      PARAM_SCHEDULERS=PARAM_SCHEDULERS)
SCENARIOS = {s['name']: s for s in sc.SCHEDULER_SCENARIOS}


def _expected(name):
    recorded = RECORDED[name]
    assert recorded['scenario'] == json.loads(json.dumps(SCENARIOS[name])), (
        f'{name}: the scenario changed since the fixture was recorded; '
        'rerun record_schedules.py with the reference environment')
    return recorded['records']


def _assert_records(actual, expected, name, offset=0):
    assert len(actual) == len(expected), name
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert a == e, (f'{name}: first difference at iteration {i + offset}:'
                        f' got {a}, mmengine {e}')


def test_every_fixture_has_a_scenario():
    assert sorted(RECORDED) == sorted(SCENARIOS)


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_values_match_mmengine_bitwise(name):
    expected = _expected(name)
    _assert_records(sc.run_scheduler_scenario(SCENARIOS[name], API),
                    expected, name)


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_resume_midway_continues_exactly(name):
    """Save optimizer and scheduler states after 7 epochs and a half, build
    everything afresh, load the states (through torch.save/torch.load with
    weights_only=True) and finish: the values equal the uninterrupted run."""
    scenario = SCENARIOS[name]
    expected = _expected(name)
    stop = 7 * scenario['epoch_length'] + scenario['epoch_length'] // 2
    torch.manual_seed(0)
    wrapper = sc.make_optimizer(scenario, API)
    schedulers = sc.build_schedulers(scenario, wrapper, API)
    first = sc.drive_schedulers(scenario, wrapper, schedulers, stop_iter=stop)

    buffer = io.BytesIO()
    torch.save(dict(optimizer=wrapper.state_dict(),
                    schedulers=[s.state_dict() for s in schedulers]), buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)

    torch.manual_seed(0)
    wrapper = sc.make_optimizer(scenario, API)
    schedulers = sc.build_schedulers(scenario, wrapper, API)
    wrapper.load_state_dict(checkpoint['optimizer'])
    for scheduler, state in zip(schedulers, checkpoint['schedulers']):
        scheduler.load_state_dict(state)
    rest = sc.drive_schedulers(scenario, wrapper, schedulers, start_iter=stop)
    _assert_records(first + rest, expected, name)
