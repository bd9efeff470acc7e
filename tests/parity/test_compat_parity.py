"""compat: old models on the engine against the SAME mmcv 1.7.2 fixtures
as ``legacy`` (issue 4).

Each legacy scenario's model is wrapped with ``compat.adapt`` and trained by
``engine.runner.Runner(**compat.migrate_config(cfg))``. Compared bitwise:
final parameters, the lr (and momentum/betas) of every iteration, the group
hyper-parameters, the per-iteration losses and log variables, and the
training values mmcv wrote to its ``.log.json`` (the engine's value rounded
the way mmcv rounds: 5 decimals, numpy rounding for LogBuffer averages).
"""
from __future__ import annotations

import numpy as np
import pytest

from .apis import legacy_api
from .compare import FIXTURES, assert_same, load_fixture
from .scenarios_compat import run_on_engine
from .scenarios_legacy import SCENARIOS, STORED_CHECKPOINTS

# bit for bit against numbers recorded from mmcv/mmengine (tests/conftest.py)
pytestmark = pytest.mark.recorded_numbers

# The engine's own by-products, not values the old model reports; their
# window differs from LogBuffer's (see docs/parity.md).
NOT_COMPARED_IN_LOG = {'grad_norm'}


def mmcv_run(name: str) -> dict:
    result = load_fixture(f'legacy_{name}')
    return result.get('run') or result['uninterrupted']


def run_ours(scenario_runs, name: str) -> dict:
    return scenario_runs(f'compat-{name}', run_on_engine, SCENARIOS[name])


def is_iter_based(name: str) -> bool:
    return SCENARIOS[name].cfg['runner']['type'] == 'IterBasedRunner'


def without_initial_lr(groups: dict) -> dict:
    """``initial_lr`` is set by whichever scheduler exists; mmcv has none
    without an lr_config, a migrated config may add a constant one."""
    return {name: [{k: v for k, v in g.items() if k != 'initial_lr'}
                   for g in gs] for name, gs in groups.items()}


def assert_outputs(mmcv_outputs: list, ours: list, what: str) -> None:
    """Per iteration, every legacy log variable, and the loss when the
    engine reports one, must be what the old runner saw."""
    assert len(ours) == len(mmcv_outputs), (
        f'{what}: {len(ours)} iterations, expected {len(mmcv_outputs)}')
    expected, actual = [], []
    for old, new in zip(mmcv_outputs, ours):
        want = dict(old['log_vars'])
        if old['loss'] is not None and 'loss' in new:
            want['loss'] = old['loss']
        expected.append(want)
        actual.append({k: new.get(k, '<missing>') for k in want})
    assert_same(expected, actual, what)


def hexround(value: str, numpy_rounding: bool) -> str:
    number = float.fromhex(value)
    if numpy_rounding:
        return float(np.round(np.float64(number), 5)).hex()
    return round(number, 5).hex()


def engine_log_as_mmcv(record: dict, wanted: dict) -> dict:
    """The engine's scalar record, keyed and rounded as mmcv logs it."""
    out = {}
    for key, want in wanted.items():
        if key == 'lr' and isinstance(want, dict):  # one lr per optimizer
            out[key] = {n: record.get(f'{n}.lr') for n in want}
        elif key not in record:
            out[key] = '<missing>'
        else:
            out[key] = hexround(record[key], numpy_rounding=key != 'lr')
    return out


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_compat_params(scenario_runs, name):
    assert_same(mmcv_run(name)['params'], run_ours(scenario_runs, name)
                ['params'], f'compat {name} params')


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_compat_lr(scenario_runs, name):
    assert_same(mmcv_run(name)['lr'], run_ours(scenario_runs, name)['lr'],
                f'compat {name} lr')


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_compat_param_groups(scenario_runs, name):
    assert_same(without_initial_lr(mmcv_run(name)['groups']),
                without_initial_lr(run_ours(scenario_runs, name)['groups']),
                f'compat {name} param groups')


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_compat_outputs(scenario_runs, name):
    assert_outputs(mmcv_run(name)['outputs'],
                   run_ours(scenario_runs, name)['outputs'],
                   f'compat {name} outputs')


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_compat_logged_values(scenario_runs, name):
    """Every training record of mmcv's .log.json has an engine scalar
    record at the same global iteration with the same values."""
    mmcv = mmcv_run(name)
    engine_log = {r['step']: r for r in run_ours(scenario_runs, name)['log']
                  if 'iter' in r}
    for record in mmcv['log']:
        if record['mode'] != 'train':
            continue
        step = record['iter'] if is_iter_based(name) else (
            (record['epoch'] - 1) * mmcv['iters_per_epoch'] + record['iter'])
        wanted = {k: v for k, v in record.items()
                  if k not in ('mode', 'epoch', 'iter')
                  and k not in NOT_COMPARED_IN_LOG}
        assert step in engine_log, (
            f'compat {name}: no engine log record at iteration {step}; '
            f'logged at {sorted(engine_log)}')
        assert_same(wanted, engine_log_as_mmcv(engine_log[step], wanted),
                    f'compat {name} log record at iteration {step}')


def test_compat_validation_follows_workflow(scenario_runs):
    """``workflow=[('train', 1), ('val', 1)]``: a validation after every
    epoch whose metrics are the values of mmcv's val records."""
    expected, actual = [], []
    val_records = [r for r in mmcv_run('workflow_val')['log']
                   if r['mode'] == 'val']
    metrics = run_ours(scenario_runs, 'workflow_val')['metrics']
    for record, got in zip(val_records, metrics):
        want = {k: v for k, v in record.items()
                if k not in ('mode', 'iter', 'lr')}
        expected.append(want)
        actual.append(dict(epoch=got['epoch'], **{
            k: hexround(got['metrics'][k], numpy_rounding=True)
            if k in got['metrics'] else '<missing>'
            for k in want if k != 'epoch'}))
    assert len(metrics) == len(val_records), (
        f'{len(metrics)} validations, mmcv ran {len(val_records)}')
    assert_same(expected, actual, 'compat workflow_val validation')


def assert_resumed_like_mmcv(name: str, resumed: dict, what: str) -> None:
    """``resumed`` ends where mmcv's uninterrupted run of ``name`` ends,
    through the same lr and outputs after the interruption."""
    expected = load_fixture(f'legacy_{name}')
    full = expected['uninterrupted']
    done = len(expected['interrupted']['lr'])
    assert_same(full['params'], resumed['params'], f'{what}: final params')
    assert_same(full['lr'][done:], resumed['lr'],
                f'{what}: lr from iteration {done}')
    assert_outputs(full['outputs'][done:], resumed['outputs'],
                   f'{what}: outputs from iteration {done}')


@pytest.mark.parametrize('name', sorted(STORED_CHECKPOINTS))
def test_compat_resumes_real_mmcv_checkpoint(scenario_runs, name):
    """A checkpoint written by mmcv 1.7.2 resumes on the engine and the run
    ends where mmcv's uninterrupted run ends (for the IterBasedRunner
    checkpoint, which stores the iteration before incrementing it, the
    engine must land on iteration 10)."""
    (checkpoint,) = STORED_CHECKPOINTS[name].values()
    resumed = scenario_runs(f'compat-{name}-from-mmcv', run_on_engine,
                            SCENARIOS[name],
                            resume_from=FIXTURES / checkpoint)
    assert_resumed_like_mmcv(name, resumed,
                             f'compat {name} resumed from mmcv\'s '
                             f'{checkpoint}')


def legacy_then_engine(scenario, work_dir):
    scenario.train(legacy_api('legacy'), work_dir / 'legacy',
                   stop_after=scenario.stop_after)
    return run_on_engine(scenario, work_dir / 'engine',
                         resume_from=work_dir / 'legacy' / scenario.checkpoint)


def engine_then_legacy(scenario, work_dir):
    run_on_engine(scenario, work_dir / 'engine',
                  stop_after_epoch=scenario.stop_after[1])
    return scenario.train(legacy_api('legacy'), work_dir / 'legacy',
                          resume_from=work_dir / 'engine' /
                          scenario.checkpoint)


@pytest.mark.parametrize('name', sorted(STORED_CHECKPOINTS))
def test_compat_resumes_legacy_checkpoint(scenario_runs, name):
    """A run of ``legacy`` killed midway resumes on the engine."""
    resumed = scenario_runs(f'compat-{name}-legacy-then-engine',
                            legacy_then_engine, SCENARIOS[name])
    assert_resumed_like_mmcv(name, resumed, f'compat {name}: legacy run '
                             'resumed on the engine')


def test_legacy_resumes_engine_checkpoint(scenario_runs):
    """An engine run of the adapted model killed after epoch 2 resumes in
    ``legacy``'s EpochBasedRunner."""
    resumed = scenario_runs('compat-engine-then-legacy', engine_then_legacy,
                            SCENARIOS['checkpoint_resume'])
    expected = load_fixture('legacy_checkpoint_resume')
    full = expected['uninterrupted']
    done = len(expected['interrupted']['lr'])
    what = 'engine run resumed in legacy'
    assert_same(full['params'], resumed['params'], f'{what}: final params')
    assert_same(full['lr'][done:], resumed['lr'],
                f'{what}: lr from iteration {done}')
    # a legacy run records its outputs in mmcv's layout, as the fixture does
    assert_same(full['outputs'][done:], resumed['outputs'],
                f'{what}: outputs from iteration {done}')
