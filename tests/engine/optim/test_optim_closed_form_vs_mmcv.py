"""ClosedFormLR / ClosedFormMomentum and the closed-form functions against a
real mmcv 1.7.2 runner (fixtures/mmcv_policies.json): the learning rate and
momentum of every group, bitwise, before every iteration, for every policy
and warm-up kind, on the epoch and the iteration runner."""
import copy
import io
import json
import os

import pytest
import torch
import torch.nn as nn

import optim_scenarios as sc
from engine.optim import OptimWrapper
from engine.optim.scheduler.closed_form import (lr_at, lr_schedule,
                                                momentum_schedule)
from engine.registry import PARAM_SCHEDULERS

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures',
                       'mmcv_policies.json')
with open(FIXTURE) as f:
    RECORDED = json.load(f)
SCENARIOS = {s['name']: s for s in sc.MMCV_SCENARIOS}


def _expected(name):
    recorded = RECORDED[name]
    assert recorded['scenario'] == json.loads(json.dumps(SCENARIOS[name])), (
        f'{name}: the scenario changed since the fixture was recorded; '
        'rerun record_schedules.py with the reference environment')
    return recorded['records']


def _total_iters(scenario):
    if scenario['runner'] == 'epoch':
        return scenario['epochs'] * scenario['epoch_length']
    return scenario['max_iters']


def _scheduler_cfgs(scenario):
    """What compat.migrate_config is expected to emit for the scenario."""
    cfgs = []
    for sched_type, key in (('ClosedFormLR', 'lr_config'),
                            ('ClosedFormMomentum', 'momentum_config')):
        policy = copy.deepcopy(scenario[key])
        if policy is None:
            continue
        if scenario['runner'] == 'epoch':
            cfg = dict(type=sched_type, policy_cfg=policy,
                       convert_to_iter_based=True, end=scenario['epochs'])
        else:
            if key == 'lr_config':
                # mmcv's IterBasedRunner defaults lr_config's by_epoch
                policy.setdefault('by_epoch', False)
            cfg = dict(type=sched_type, policy_cfg=policy, by_epoch=False,
                       end=scenario['max_iters'])
        cfgs.append(cfg)
    return cfgs


def _build(scenario):
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    cfg = dict(scenario['optimizer'])
    optimizer = getattr(torch.optim, cfg.pop('type'))(
        sc.mmcv_param_groups(scenario, model), **cfg)
    wrapper = OptimWrapper(optimizer)
    schedulers = [
        PARAM_SCHEDULERS.build(
            cfg, default_args=dict(optimizer=wrapper,
                                   epoch_length=scenario['epoch_length']))
        for cfg in _scheduler_cfgs(scenario)
    ]
    return wrapper, schedulers


def _drive(wrapper, schedulers, start, stop, records):
    for _ in range(start, stop):
        groups = wrapper.optimizer.param_groups
        records['lr'].append(sc.hexify(g['lr'] for g in groups))
        records['momentum'].append(
            sc.hexify(sc.momentum_of(g) for g in groups))
        for scheduler in schedulers:
            scheduler.step()


def _assert_records(actual, expected, name):
    for key in ('lr', 'momentum'):
        assert len(actual[key]) == len(expected[key]), (name, key)
        for i, (a, e) in enumerate(zip(actual[key], expected[key])):
            assert a == e, (f'{name}: {key} differs first at iteration {i}: '
                            f'got {[float.fromhex(x) for x in a]}, mmcv '
                            f'{[float.fromhex(x) for x in e]}')


def test_every_fixture_has_a_scenario():
    assert sorted(RECORDED) == sorted(SCENARIOS)


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_closed_form_schedulers_match_mmcv(name):
    scenario = SCENARIOS[name]
    wrapper, schedulers = _build(scenario)
    records = dict(lr=[], momentum=[])
    _drive(wrapper, schedulers, 0, _total_iters(scenario), records)
    _assert_records(records, _expected(name), name)


@pytest.mark.parametrize('name', sorted(SCENARIOS)[::5])
def test_closed_form_resume_continues_exactly(name):
    scenario = SCENARIOS[name]
    total = _total_iters(scenario)
    stop = total // 2 + 1
    wrapper, schedulers = _build(scenario)
    records = dict(lr=[], momentum=[])
    _drive(wrapper, schedulers, 0, stop, records)
    buffer = io.BytesIO()
    torch.save([s.state_dict() for s in schedulers] + [wrapper.state_dict()],
               buffer)
    buffer.seek(0)
    *states, optim_state = torch.load(buffer, weights_only=True)
    wrapper, schedulers = _build(scenario)
    wrapper.load_state_dict(optim_state)
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)
    _drive(wrapper, schedulers, stop, total, records)
    _assert_records(records, _expected(name), name)


def test_functions_give_the_recorded_values_directly():
    """The pure functions, as legacy's hooks call them, per group."""
    scenario = SCENARIOS['lr_cosine_epoch_warmup_linear']
    expected = _expected(scenario['name'])['lr']
    schedule = lr_schedule(scenario['lr_config'])
    lr = scenario['optimizer']['lr']
    bases = schedule.base_values([lr * m for m in scenario['group_lr_mults']])
    length = scenario['epoch_length']
    for it, row in enumerate(expected):
        got = [
            schedule.value(b, it // length, it, scenario['epochs'],
                           scenario['epochs'] * length, length)
            for b in bases
        ]
        assert sc.hexify(got) == row, it
        assert lr_at(scenario['lr_config'], bases[0], it // length, it,
                     scenario['epochs'], scenario['epochs'] * length,
                     length).hex() == row[0]


def test_policy_names_are_normalised_like_mmcv():
    assert lr_schedule(dict(policy='cyclic')).policy == 'Cyclic'
    assert lr_schedule(dict(policy='CosineAnnealing',
                            min_lr=0)).policy == 'CosineAnnealing'
    with pytest.raises(ValueError, match='unknown lr policy'):
        lr_schedule(dict(policy='cosineannealing', min_lr=0))


@pytest.mark.parametrize('cfg, error, match', [
    (dict(policy='step'), KeyError, "'step'"),
    (dict(policy='step', step=[2, 'x']), TypeError, 'list of ints'),
    (dict(policy='step', step=0), ValueError, 'positive'),
    (dict(policy='poly', powr=2), TypeError, 'powr'),
    (dict(policy='CosineAnnealing'), ValueError, 'exactly one of min_lr'),
    (dict(policy='CosineAnnealing', min_lr=0, min_lr_ratio=0.1), ValueError,
     'exactly one'),
    (dict(policy='fixed', warmup='cosine', warmup_iters=3), ValueError,
     'cosine'),
    (dict(policy='fixed', warmup='linear', warmup_iters=0), ValueError,
     'warmup_iters'),
    (dict(policy='fixed', warmup='linear', warmup_iters=5, warmup_ratio=0),
     ValueError, 'warmup_ratio'),
    (dict(policy='Cyclic', by_epoch=True), ValueError, 'by_epoch=False'),
    (dict(policy='OneCycle'), KeyError, 'max_lr'),
    (dict(policy='OneCycle', max_lr=0.1, pct_start=1), ValueError,
     'pct_start'),
    (dict(policy='OneCycle', max_lr=0.1, anneal_strategy='cosine'),
     ValueError, 'anneal_strategy'),
    (dict(policy='FlatCosineAnnealing', start_percent=1, min_lr=0),
     ValueError, 'start_percent'),
    (dict(policy='CosineRestart', periods=[2, 3], min_lr=0), ValueError,
     'same length'),
    (dict(policy='Nope'), ValueError, 'unknown lr policy'),
    (dict(step=3), KeyError, 'policy'),
    ('step', TypeError, 'dict'),
])
def test_bad_lr_configs_get_clear_errors(cfg, error, match):
    with pytest.raises(error, match=match):
        lr_schedule(cfg)


def test_bad_momentum_configs_get_clear_errors():
    with pytest.raises(TypeError, match='warmup_by_epoch'):
        momentum_schedule(dict(policy='step', step=2, warmup='linear',
                               warmup_iters=2, warmup_by_epoch=True))
    with pytest.raises(ValueError, match='unknown momentum policy'):
        momentum_schedule(dict(policy='poly'))


def test_missing_run_lengths_are_named():
    schedule = lr_schedule(dict(policy='poly', by_epoch=False))
    with pytest.raises(ValueError, match='max_iters'):
        schedule.value(0.1, 0, 3)
    schedule = lr_schedule(dict(policy='CosineRestart', periods=[2],
                                min_lr=0, by_epoch=False))
    with pytest.raises(ValueError, match='exceeds'):
        schedule.value(0.1, 0, 2)


def test_epoch_policy_without_epoch_length_is_refused():
    wrapper = OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(),
                                           lr=0.1))
    with pytest.raises(ValueError, match='epoch_length'):
        PARAM_SCHEDULERS.build(
            dict(type='ClosedFormLR', by_epoch=False, end=10,
                 policy_cfg=dict(policy='step', step=2)),
            default_args=dict(optimizer=wrapper))
    # stepped by epoch: only where the value cannot change within an epoch
    for policy_cfg in (dict(policy='step', step=2, warmup='linear',
                            warmup_iters=3),
                       dict(policy='poly', by_epoch=False)):
        with pytest.raises(ValueError, match='convert_to_iter_based'):
            PARAM_SCHEDULERS.build(
                dict(type='ClosedFormLR', by_epoch=True, end=10,
                     policy_cfg=policy_cfg),
                default_args=dict(optimizer=wrapper))


@pytest.mark.parametrize('policy_cfg', [
    dict(policy='fixed'),
    dict(policy='step', step=[2, 3], gamma=0.5),
    dict(policy='CosineAnnealing', min_lr_ratio=0.01),
    dict(policy='poly', power=0.9, min_lr=1e-4),
    dict(policy='exp', gamma=0.8),
])
def test_stepping_by_epoch_equals_stepping_every_iteration(policy_cfg):
    """An epoch-based policy without warm-up, as compat translates it
    (by_epoch=True: stepped at epoch ends), sets the very floats the
    per-iteration scheduler sets, at every iteration."""
    epochs, length = 5, 3
    curves = []
    for cfg in (dict(by_epoch=True), dict(convert_to_iter_based=True)):
        optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
        scheduler = PARAM_SCHEDULERS.build(
            dict(type='ClosedFormLR', policy_cfg=policy_cfg, end=epochs,
                 **cfg),
            default_args=dict(optimizer=OptimWrapper(optimizer),
                              epoch_length=length))
        curve = []
        for it in range(epochs * length):
            curve.append(optimizer.param_groups[0]['lr'])
            if not scheduler.by_epoch:
                scheduler.step()
            elif (it + 1) % length == 0:
                scheduler.step()
        curves.append(curve)
    assert curves[0] == curves[1]


def test_onecycle_records_mmcv_initial_lr_and_dict_max_lr():
    """OneCycle's base is max_lr / div_factor, looked up by optimizer name
    in a per-optimizer dict, and stored as initial_lr as mmcv does."""
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1,
                                momentum=0.9)
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='ClosedFormLR', by_epoch=False, end=20,
             optimizer_name='generator',
             policy_cfg=dict(policy='OneCycle', div_factor=10,
                             max_lr=dict(generator=0.5, critic=0.2))),
        default_args=dict(optimizer=optimizer))
    assert optimizer.param_groups[0]['initial_lr'] == 0.05
    assert scheduler.get_last_value() == [
        lr_at(dict(policy='OneCycle', max_lr=0.5, div_factor=10), 0.05, 0, 0,
              max_iters=20)
    ]
