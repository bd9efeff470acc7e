"""Scheduler behaviour beyond the recorded curves: construction errors,
conversion rules, plateau logic, momentum on Adam, safe state dicts."""
import io

import pytest
import torch
import torch.nn as nn

from engine.optim import (INF, ConstantLR, CosineAnnealingLR, LinearLR,
                          MultiStepLR, OneCycleLR, OptimWrapper,
                          ReduceOnPlateauLR, StepLR, StepMomentum,
                          _ParamScheduler)
from engine.registry import PARAM_SCHEDULERS


def _sgd(lr=0.1, **kwargs):
    return torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=lr, **kwargs)


def test_every_scheduler_is_registered():
    names = [
        f'{kind}{suffix}' for kind in ('Step', 'MultiStep', 'Constant',
                                       'Linear', 'Exponential',
                                       'CosineAnnealing', 'Poly',
                                       'CosineRestart', 'ReduceOnPlateau')
        for suffix in ('LR', 'Momentum', 'ParamScheduler')
    ] + ['OneCycleLR', 'OneCycleParamScheduler', 'ClosedFormLR',
         'ClosedFormMomentum']
    missing = [n for n in names if PARAM_SCHEDULERS.get(n) is None]
    assert not missing


def test_first_value_is_set_at_construction_and_range_is_respected():
    optimizer = _sgd()
    scheduler = LinearLR(optimizer, start_factor=0.5, begin=2, end=5,
                         by_epoch=False)
    values = [scheduler.get_last_value()[0]]
    for _ in range(6):
        scheduler.step()
        values.append(scheduler.get_last_value()[0])
    # untouched before begin, ramps over end - begin - 1 = 2 steps, then
    # left alone
    assert values[:2] == [0.1, 0.1]
    assert values[2] == 0.05
    assert values[4] == pytest.approx(0.1)
    assert values[4:] == [values[4]] * 3
    assert optimizer.param_groups[0]['initial_lr'] == 0.1


def test_convert_to_iter_based_scales_step_arguments():
    optimizer = _sgd()
    step = StepLR.build_iter_from_epoch(optimizer, step_size=2, begin=1,
                                        end=5, epoch_length=10)
    assert (step.step_size, step.begin, step.end, step.by_epoch) == (20, 10,
                                                                     50,
                                                                     False)
    multi = MultiStepLR.build_iter_from_epoch(_sgd(), milestones=[1, 3],
                                              epoch_length=4)
    assert multi.milestones == {4: 1, 12: 1} and multi.end == INF
    cosine = CosineAnnealingLR.build_iter_from_epoch(_sgd(), T_max=3, end=3,
                                                     epoch_length=5)
    assert cosine.T_max == 15
    with pytest.raises(ValueError, match='by_epoch=True'):
        StepLR.build_iter_from_epoch(_sgd(), step_size=1, by_epoch=False,
                                     epoch_length=3)
    with pytest.raises(ValueError, match='epoch_length'):
        StepLR.build_iter_from_epoch(_sgd(), step_size=1, epoch_length=0)
    with pytest.raises(ValueError, match='by_epoch=True'):
        ReduceOnPlateauLR.build_iter_from_epoch(_sgd(), epoch_length=3)


@pytest.mark.parametrize('build, error, match', [
    (lambda: StepLR(_sgd(), step_size=2, begin=3, end=3), ValueError,
     'end should be larger'),
    (lambda: StepLR(nn.Linear(1, 1), step_size=2), TypeError, 'optimizer'),
    (lambda: StepLR(_sgd(), step_size=0), ValueError, 'step_size'),
    (lambda: StepLR(_sgd(), step_size=2, gamma='0.1'), TypeError, 'gamma'),
    (lambda: StepLR(_sgd(), step_size=2, end=2.5), TypeError, 'end'),
    (lambda: ReduceOnPlateauLR(_sgd(), patience=None), TypeError,
     'patience'),
    (lambda: MultiStepLR(_sgd(), milestones=3), TypeError, 'milestones'),
    (lambda: ConstantLR(_sgd(), factor=2), ValueError, 'factor'),
    (lambda: LinearLR(_sgd(), start_factor=-1), ValueError, 'start_factor'),
    (lambda: OneCycleLR(_sgd(), eta_max=1, pct_start=1), ValueError,
     'pct_start'),
    (lambda: OneCycleLR(_sgd(), eta_max=1, total_steps=0), ValueError,
     'total_steps'),
    (lambda: OneCycleLR(_sgd(), eta_max=1, anneal_strategy='exp'),
     ValueError, 'anneal_strategy'),
    (lambda: ReduceOnPlateauLR(_sgd(), rule='more'), ValueError, 'rule'),
    (lambda: ReduceOnPlateauLR(_sgd(), factor=1.0), ValueError, 'factor'),
    (lambda: ReduceOnPlateauLR(_sgd(), by_epoch=False), ValueError,
     'by_epoch'),
    (lambda: StepMomentum(torch.optim.Adagrad(nn.Linear(1, 1).parameters()),
                          step_size=1), ValueError, 'momentum'),
    (lambda: StepLR(_sgd(), step_size=1, last_step=3), KeyError,
     'initial_lr'),
    (lambda: CosineAnnealingLR(_sgd(), eta_min=0.1, eta_min_ratio=0.1),
     ValueError, 'eta_min'),
])
def test_bad_arguments_get_clear_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_onecycle_refuses_to_step_past_total_steps():
    scheduler = OneCycleLR(_sgd(), eta_max=1.0, total_steps=3,
                           by_epoch=False)
    scheduler.step()
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match='total steps is 3'):
        scheduler.step()


def test_reduce_on_plateau_counts_epochs_and_reduces_after_patience():
    optimizer = _sgd(lr=1.0)
    scheduler = ReduceOnPlateauLR(optimizer, monitor='loss', patience=1,
                                  factor=0.5, min_value=0.3)
    lrs = []
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        scheduler.step()  # the epoch end: counted only
        scheduler.step(dict(loss=loss))
        lrs.append(optimizer.param_groups[0]['lr'])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.3, 0.3]
    with pytest.raises(KeyError, match="'acc'"):
        ReduceOnPlateauLR(_sgd(), monitor='acc').step(dict(loss=1.0))
    with pytest.raises(TypeError, match='dict'):
        ReduceOnPlateauLR(_sgd()).step([1.0])


def test_momentum_scheduler_drives_adam_betas():
    optimizer = torch.optim.Adam(nn.Linear(1, 1).parameters(),
                                 betas=(0.9, 0.99))
    scheduler = StepMomentum(optimizer, step_size=1, gamma=0.5)
    scheduler.step()
    assert optimizer.param_groups[0]['betas'] == (0.45, 0.99)
    assert OptimWrapper(optimizer).get_momentum() == dict(momentum=[0.45])


def test_state_dict_is_plain_and_loads_with_weights_only():
    """Checkpoints must load with torch.load(weights_only=True): no Counter,
    no functions, no custom classes in any scheduler state."""
    wrapper = OptimWrapper(_sgd(momentum=0.9))
    schedulers = [
        MultiStepLR(wrapper, milestones=[1, 1, 2]),
        OneCycleLR(wrapper, eta_max=1.0, total_steps=10, by_epoch=False),
        ReduceOnPlateauLR(wrapper),
        PARAM_SCHEDULERS.build(
            dict(type='ClosedFormMomentum', by_epoch=False, end=10,
                 policy_cfg=dict(policy='CosineAnnealing',
                                 min_momentum_ratio=0.5, by_epoch=False)),
            default_args=dict(optimizer=wrapper)),
    ]
    buffer = io.BytesIO()
    torch.save([s.state_dict() for s in schedulers], buffer)
    buffer.seek(0)
    states = torch.load(buffer, weights_only=True)
    assert states[0]['milestones'] == {1: 2, 2: 1}
    assert 'anneal_func' not in states[1]
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)


def test_subclass_with_custom_get_value():
    """The documented extension point: implement ``_get_value``."""

    class HalvingLR(_ParamScheduler):

        def __init__(self, optimizer, **kwargs):
            super().__init__(optimizer, 'lr', **kwargs)

        def _get_value(self):
            return [b / 2**self.last_step for b in self.base_values]

    optimizer = _sgd(lr=1.0)
    scheduler = HalvingLR(optimizer, by_epoch=False)
    scheduler.step()
    scheduler.step()
    assert optimizer.param_groups[0]['lr'] == 0.25
    assert scheduler.get_last_value() == [0.25]
