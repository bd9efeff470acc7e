"""Averaged models: the update counter survives a state-dict round trip,
arguments are checked."""
import pytest
import torch
import torch.nn as nn

from engine.model import ExponentialMovingAverage, MomentumAnnealingEMA


def test_resumed_average_continues_like_an_uninterrupted_one():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    straight = ExponentialMovingAverage(model, momentum=0.5, interval=2)
    for _ in range(3):
        straight.update_parameters(model)
    state = straight.state_dict()
    assert int(state['steps']) == 3

    resumed = ExponentialMovingAverage(model, momentum=0.5, interval=2)
    resumed.load_state_dict(state)
    with torch.no_grad():
        model.weight.add_(1.)
    straight.update_parameters(model)  # step 3: interval 2 -> no averaging
    resumed.update_parameters(model)
    with torch.no_grad():
        model.weight.add_(1.)
    straight.update_parameters(model)  # step 4: averaged
    resumed.update_parameters(model)
    assert torch.equal(straight.module.weight, resumed.module.weight)
    assert not torch.equal(straight.module.weight, model.weight)


def test_first_update_copies_and_momentum_weights_the_new_value():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.)
    ema = ExponentialMovingAverage(model, momentum=0.25)
    with torch.no_grad():
        model.weight.fill_(3.)
    ema.update_parameters(model)  # first call: a copy
    assert ema.module.weight.item() == 3.
    with torch.no_grad():
        model.weight.fill_(7.)
    ema.update_parameters(model)
    assert ema.module.weight.item() == 0.75 * 3. + 0.25 * 7.
    assert not any(p.requires_grad for p in ema.parameters())


@pytest.mark.parametrize('build, match', [
    (lambda m: ExponentialMovingAverage(m, momentum=1.5), r'in \(0, 1\)'),
    (lambda m: ExponentialMovingAverage(m, interval=0), 'positive int'),
    (lambda m: MomentumAnnealingEMA(m, gamma=0), 'gamma must be positive'),
])
def test_bad_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build(nn.Linear(1, 1))
