"""AmpOptimWrapper on the CPU (bfloat16 and float16 autocast, loss scaling,
overflow skipping) and on CUDA when there is one."""
import uuid

import pytest
import torch
import torch.nn as nn

from engine.logging import MessageHub
from engine.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper


@pytest.fixture(autouse=True)
def _own_message_hub():
    MessageHub.get_instance(f'test_optim_amp_{uuid.uuid4().hex}')


def _data(device='cpu'):
    torch.manual_seed(0)
    x = torch.randn(64, 4, device=device)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]], device=device) + 0.1
    return x, y


def _train(wrapper, model, x, y, steps=60):
    losses = []
    for _ in range(steps):
        with wrapper.optim_context(model):
            out = model(x)
            dtype = out.dtype
            loss = ((out.float() - y)**2).mean()
        wrapper.update_params(loss)
        losses.append(loss.item())
    return losses, dtype


@pytest.mark.parametrize('dtype, loss_scale', [
    ('bfloat16', 'dynamic'),
    (torch.bfloat16, 512),
    ('float16', 'dynamic'),
    ('float16', 128.0),
    ('float16', dict(init_scale=256.0, growth_interval=10)),
])
def test_trains_on_cpu_with_autocast(dtype, loss_scale):
    x, y = _data()
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    wrapper = build_optim_wrapper(
        model,
        dict(type='AmpOptimWrapper', dtype=dtype, loss_scale=loss_scale,
             optimizer=dict(type='SGD', lr=0.05, momentum=0.9)))
    losses, out_dtype = _train(wrapper, model, x, y)
    expected = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    assert out_dtype == expected
    assert model.weight.dtype == torch.float32
    assert losses[-1] < 0.05 * losses[0]
    assert 'loss_scaler' in wrapper.state_dict()


def test_default_dtype_on_cpu_is_bfloat16():
    model = nn.Linear(2, 1)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert model(torch.ones(1, 2)).dtype == torch.bfloat16


def _overflow_step(wrapper, model):
    with wrapper.optim_context(model):
        loss = model(torch.ones(1, 2)).float().sum() * float('inf')
    wrapper.update_params(loss)


def test_overflow_skips_the_step_and_backs_off_dynamic_scale():
    model = nn.Linear(2, 1)
    wrapper = AmpOptimWrapper(
        dtype='float16', loss_scale=dict(init_scale=1024.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    _overflow_step(wrapper, model)
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert wrapper.skipped_steps == 1
    assert wrapper.loss_scale == 512.0
    with wrapper.optim_context(model):
        loss = model(torch.ones(1, 2)).float().sum()
    wrapper.update_params(loss)
    assert not torch.equal(before[0], model.weight)
    assert wrapper.skipped_steps == 1


def test_static_scale_stays_after_overflow():
    model = nn.Linear(2, 1)
    wrapper = AmpOptimWrapper(
        dtype='float16', loss_scale=512,  # an int: mmengine raises here
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    _overflow_step(wrapper, model)
    _overflow_step(wrapper, model)
    assert wrapper.skipped_steps == 2
    assert wrapper.loss_scale == 512.0


def test_scaling_without_autocast_is_bitwise_fp32_training():
    """Power-of-two scaling and unscaling are exact: with autocast off the
    AMP wrapper (clipping included) trains exactly like OptimWrapper."""
    x, y = _data()
    results = []
    for cls, extra in ((OptimWrapper, {}),
                       (AmpOptimWrapper, dict(loss_scale=1024.0,
                                              dtype='float32'))):
        torch.manual_seed(0)
        model = nn.Linear(4, 1)
        wrapper = cls(optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                      clip_grad=dict(max_norm=1.0), **extra)
        _train(wrapper, model, x, y, steps=10)
        results.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_state_dict_round_trip_restores_scale():
    model = nn.Linear(2, 1)
    wrapper = AmpOptimWrapper(
        dtype='float16', loss_scale=dict(init_scale=64.0, growth_interval=1),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        loss = model(torch.ones(1, 2)).float().sum()
    wrapper.update_params(loss)
    assert wrapper.loss_scale == 128.0
    state = wrapper.state_dict()
    other = AmpOptimWrapper(
        dtype='float16',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    other.load_state_dict(state)
    assert 'loss_scaler' in state  # the caller's dict is left as it was
    assert other.loss_scale == 128.0


def test_accumulation_with_amp_divides_and_steps_on_schedule():
    model = nn.Linear(2, 1)
    wrapper = AmpOptimWrapper(
        dtype='bfloat16', accumulative_counts=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.initialize_count_status(model, 0, 3)
    initial = model.weight.detach().clone()
    weights = []
    for _ in range(3):
        with wrapper.optim_context(model):
            loss = model(torch.ones(1, 2)).float().sum()
        wrapper.update_params(loss)
        weights.append(model.weight.detach().clone())
    assert torch.equal(initial, weights[0])  # accumulating
    assert not torch.equal(weights[0], weights[1])  # stepped at count 2
    assert not torch.equal(weights[1], weights[2])  # remainder at count 3


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(loss_scale='static'), TypeError, 'loss_scale'),
    (dict(loss_scale=True), TypeError, 'loss_scale'),
    (dict(loss_scale=-1.0), ValueError, 'positive'),
    (dict(loss_scale=dict(scale=2.0)), TypeError, 'scale'),
    (dict(dtype='half'), ValueError, 'dtype'),
    (dict(dtype=torch.int8), ValueError, 'dtype'),
])
def test_bad_arguments_get_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        AmpOptimWrapper(
            optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1),
            **kwargs)


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_trains_on_cuda(dtype):
    if dtype == 'bfloat16' and not torch.cuda.is_bf16_supported():
        pytest.skip('bfloat16 unsupported on this GPU')
    x, y = _data('cuda')
    torch.manual_seed(0)
    model = nn.Linear(4, 1).cuda()
    wrapper = AmpOptimWrapper(
        dtype=dtype, clip_grad=dict(max_norm=10.0),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    losses, out_dtype = _train(wrapper, model, x, y)
    assert out_dtype == getattr(torch, dtype)
    assert losses[-1] < 0.05 * losses[0]
    assert wrapper.loss_scaler.state_dict()['scale'] > 0
