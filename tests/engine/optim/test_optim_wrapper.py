"""OptimWrapper, OptimWrapperDict and the builder: parity with mmengine
0.10.7 (fixtures recorded by record_schedules.py) and behaviour."""
import contextlib
import json
import os
import uuid
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

import optim_scenarios as sc
from engine.logging import MessageHub
from engine.optim import (DefaultOptimWrapperConstructor, OptimWrapper,
                          OptimWrapperDict, build_optim_wrapper)
from engine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def _load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


TRAINING = _load('mmengine_optim_wrapper.json')
PARAMWISE = _load('mmengine_paramwise.json')


def _fresh_hub() -> MessageHub:
    return MessageHub.get_instance(f'test_optim_wrapper_{uuid.uuid4().hex}')


def _grad_norms():
    hub = MessageHub.get_current_instance()
    if 'train/grad_norm' not in hub.log_scalars:
        return []
    return list(hub.get_scalar('train/grad_norm').data[0])


API = SimpleNamespace(build_optim_wrapper=build_optim_wrapper,
                      grad_norms=_grad_norms)


def _same_scenario(recorded, scenario):
    return recorded['scenario'] == json.loads(json.dumps(scenario))


@pytest.mark.recorded_numbers
@pytest.mark.parametrize('name', sorted(sc.TRAIN_SCENARIOS))
def test_training_matches_mmengine_bitwise(name):
    """Accumulation with a remainder, clipping by norm/value: same final
    parameters, same logged gradient norms, same count."""
    assert _same_scenario(TRAINING[name], sc.TRAIN_SCENARIOS[name])
    _fresh_hub()
    assert sc.run_training(name, API) == TRAINING[name]['result']


@pytest.mark.parametrize('name', sorted(sc.PARAMWISE_SCENARIOS))
def test_param_groups_match_mmengine(name):
    """Same groups, same order, same options (floats bitwise)."""
    assert _same_scenario(PARAMWISE[name], sc.PARAMWISE_SCENARIOS[name])
    assert sc.run_paramwise(name, API) == PARAMWISE[name]['groups']


def test_custom_keys_longest_match_and_bypassed_duplicate():
    """The longest matching custom key wins; a tied parameter is grouped
    once."""
    torch.manual_seed(0)
    model = sc.ParamwiseNet()
    cfg = sc.PARAMWISE_SCENARIOS['custom_keys_adamw']
    wrapper = build_optim_wrapper(model, dict(cfg))
    by_name = {id(p): n for n, p in model.named_parameters()}
    lrs = {
        by_name[id(g['params'][0])]: g['lr']
        for g in wrapper.optimizer.param_groups
    }
    assert lrs['sub.1.weight'] == 1e-3 * 0.2  # longest key wins
    assert lrs['sub.0.weight'] == 1e-3 * 0.1
    assert lrs['head.weight'] == 1e-3 * 10.0
    assert 'tied.weight' not in lrs  # bypassed duplicate


class _NoSyncModel(nn.Linear):
    """A model with DDP's ``no_sync`` that counts its use."""

    def __init__(self):
        super().__init__(2, 1)
        self.no_sync_calls = 0

    def no_sync(self):
        self.no_sync_calls += 1
        return contextlib.nullcontext()


def test_accumulation_skips_sync_and_divides_remainder():
    _fresh_hub()
    model = _NoSyncModel()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                           accumulative_counts=3)
    wrapper.initialize_count_status(model, 0, 7)
    updates, syncs, factors = [], [], []
    for _ in range(7):
        syncs.append(wrapper.should_sync())
        with wrapper.optim_context(model):
            loss = model(torch.ones(1, 2)).sum()
        factors.append(float(loss.detach() / wrapper.scale_loss(loss.detach())))
        wrapper.update_params(loss)
        updates.append(wrapper.should_update())
    assert syncs == [False, False, True, False, False, True, True]
    assert model.no_sync_calls == 4
    assert updates == [False, False, True, False, False, True, True]
    # 7 = 3 + 3 + 1: the last window is divided by its real size
    assert [round(f) for f in factors] == [3, 3, 3, 3, 3, 3, 1]
    assert wrapper.inner_count == 7 and wrapper.max_counts == 7


def test_grad_norm_is_logged_without_host_sync(monkeypatch):
    """Clipping logs the norm as a tensor: no ``.item()`` / ``float()``
    per iteration (the values are read at the log interval)."""
    hub = _fresh_hub()
    model = nn.Linear(3, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                           clip_grad=dict(max_norm=1.0))

    def no_sync(*args, **kwargs):
        raise AssertionError('host sync during update_params')

    monkeypatch.setattr(torch.Tensor, 'item', no_sync)
    monkeypatch.setattr(torch.Tensor, '__float__', no_sync)
    for _ in range(3):
        wrapper.update_params(model(torch.ones(2, 3)).sum())
    monkeypatch.undo()
    norms = hub.get_scalar('train/grad_norm').data[0]
    # weight grad 2 per element (3), bias grad 2: norm sqrt(12 + 4)
    assert list(norms) == [4.0, 4.0, 4.0]


def test_clip_by_value_clips_and_logs_nothing():
    hub = _fresh_hub()
    model = nn.Linear(2, 1, bias=False)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0),
                           clip_grad=dict(type='value', clip_value=0.01))
    before = model.weight.detach().clone()
    wrapper.update_params(model(torch.full((1, 2), 5.0)).sum())
    assert torch.allclose(before - model.weight.detach(),
                          torch.full_like(before, 0.01))
    assert 'train/grad_value' not in hub.log_scalars


def test_clip_grad_config_is_not_mutated():
    clip = dict(type='norm', max_norm=1.0)
    OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1),
                 clip_grad=clip)
    assert clip == dict(type='norm', max_norm=1.0)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(clip_grad=[1.0]), TypeError, 'clip_grad'),
    (dict(clip_grad={}), TypeError, 'non-empty'),
    (dict(clip_grad=dict(type='l2', max_norm=1)), ValueError, "'l2'"),
    (dict(clip_grad=dict(norm_type=2)), KeyError, 'max_norm'),
    (dict(clip_grad=dict(type='value', max_norm=1)), TypeError, 'max_norm'),
    (dict(clip_grad=dict(max_norm=1, clip_value=2)), TypeError,
     'clip_value'),
    (dict(accumulative_counts=0), ValueError, 'accumulative_counts'),
    (dict(accumulative_counts=2.0), ValueError, 'accumulative_counts'),
])
def test_bad_arguments_get_clear_errors(kwargs, error, match):
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(error, match=match):
        OptimWrapper(optimizer, **kwargs)


def test_optimizer_must_be_an_optimizer():
    with pytest.raises(TypeError, match='torch.optim.Optimizer'):
        OptimWrapper(nn.Linear(1, 1))


def test_lr_momentum_and_base_settings_with_param_groups():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD([
        dict(params=[model.weight], lr=0.2),
        dict(params=[model.bias], momentum=0.5)
    ], lr=0.1, momentum=0.9)
    wrapper = OptimWrapper(optimizer)
    assert wrapper.get_lr() == dict(base_lr=[0.1], lr=[0.2, 0.1])
    assert wrapper.get_momentum() == dict(momentum=[0.9, 0.5])
    assert len(wrapper.param_groups) == 3  # + base settings
    assert wrapper.defaults is optimizer.defaults

    state = wrapper.state_dict()
    assert 'base_param_settings' in state
    copy_before = dict(state)
    other = OptimWrapper(torch.optim.SGD([
        dict(params=[model.weight]), dict(params=[model.bias])
    ], lr=1.0, momentum=0.0))
    other.load_state_dict(state)
    assert state.keys() == copy_before.keys()  # caller's dict untouched
    assert other.get_lr() == dict(base_lr=[0.1], lr=[0.2, 0.1])


def test_momentum_from_betas_and_absent():
    params = nn.Linear(1, 1).parameters
    assert OptimWrapper(torch.optim.Adam(params(), betas=(
        0.8, 0.9))).get_momentum() == dict(momentum=[0.8])
    assert OptimWrapper(torch.optim.Adagrad(params())).get_momentum() == dict(
        momentum=[0])
    assert OptimWrapper(torch.optim.SGD(params(), lr=0.1)).get_lr() == dict(
        lr=[0.1])


def _dict_of_wrappers():
    gen, disc = nn.Linear(2, 2), nn.Linear(2, 1)
    return OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(gen.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(
            torch.optim.SGD([
                dict(params=[disc.weight]),
                dict(params=[disc.bias], lr=0.5)
            ], lr=0.1, momentum=0.9))), gen, disc


def test_optim_wrapper_dict_reports_and_restores_each_wrapper():
    wrappers, gen, disc = _dict_of_wrappers()
    assert wrappers.get_lr() == {
        'generator.lr': [1e-3],
        'discriminator.base_lr': [0.1],
        'discriminator.lr': [0.1, 0.5]
    }
    assert wrappers.get_momentum() == {
        'generator.momentum': [0.9],
        'discriminator.momentum': [0.9, 0.9]
    }
    assert list(wrappers) == ['generator', 'discriminator']
    assert 'generator' in wrappers and len(wrappers) == 2
    assert set(wrappers.param_groups) == {'generator', 'discriminator'}
    gen(torch.ones(1, 2)).sum().backward()
    wrappers.zero_grad()
    assert gen.weight.grad is None
    state = wrappers.state_dict()
    wrappers['discriminator'].optimizer.param_groups[0]['lr'] = 7.0
    wrappers.load_state_dict(state)
    assert wrappers['discriminator'].get_lr()['lr'] == [0.1, 0.5]


def test_optim_wrapper_dict_refuses_joint_updates():
    wrappers, gen, _ = _dict_of_wrappers()
    loss = gen(torch.ones(1, 2)).sum()
    for call in (lambda: wrappers.update_params(loss),
                 lambda: wrappers.backward(loss), lambda: wrappers.step(),
                 lambda: wrappers.optim_context(gen)):
        with pytest.raises(NotImplementedError, match='separately'):
            call()
    with pytest.raises(KeyError, match="'critic'"):
        wrappers['critic']
    with pytest.raises(KeyError, match='critic'):
        wrappers.load_state_dict({'critic': {}})
    with pytest.raises(TypeError, match='OptimWrapper'):
        OptimWrapperDict(gen=torch.optim.SGD(gen.parameters(), lr=0.1))


def test_every_torch_optimizer_is_registered():
    for name in ('SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'LBFGS',
                 'TorchAdafactor'):
        assert OPTIMIZERS.get(name) is not None, name


def test_unknown_optimizer_type_names_close_matches():
    with pytest.raises(KeyError, match='AdamW'):
        build_optim_wrapper(nn.Linear(1, 1),
                            dict(optimizer=dict(type='AdamWW', lr=0.1)))


@pytest.mark.parametrize('paramwise_cfg, error, match', [
    (dict(lr_mult=0.1), KeyError, 'lr_mult'),
    (dict(custom_keys=[('a', 1)]), TypeError, 'custom_keys'),
    (dict(custom_keys=dict(head=0.1)), TypeError, "custom_keys\\['head'\\]"),
    (dict(custom_keys=dict(head=dict(decay_mult=0.1))), ValueError,
     'weight_decay'),
    (dict(norm_decay_mult=0.0), ValueError, 'norm_decay_mult'),
    ([1], TypeError, 'paramwise_cfg'),
])
def test_bad_paramwise_cfg_gets_clear_errors(paramwise_cfg, error, match):
    with pytest.raises(error, match=match):
        build_optim_wrapper(
            nn.Linear(1, 1),
            dict(optimizer=dict(type='SGD', lr=0.1),
                 paramwise_cfg=paramwise_cfg))


def test_missing_optimizer_and_bad_cfg_types():
    with pytest.raises(KeyError, match='optimizer'):
        build_optim_wrapper(nn.Linear(1, 1), dict(type='OptimWrapper'))
    with pytest.raises(TypeError, match='dict'):
        build_optim_wrapper(nn.Linear(1, 1), 'SGD')


def test_wrapped_model_and_custom_constructor():
    inner = nn.Linear(2, 1)
    wrapped = SimpleNamespace(module=inner)
    wrapper = build_optim_wrapper(
        wrapped,
        dict(optimizer=dict(type=torch.optim.SGD, lr=0.1),
             accumulative_counts=2))
    assert wrapper.optimizer.param_groups[0]['params'][0] is inner.weight
    assert wrapper.accumulative_counts == 2

    name = f'TestConstructor{uuid.uuid4().hex}'

    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(name=name)
    class FrozenBias(DefaultOptimWrapperConstructor):

        def __call__(self, model):
            model.bias.requires_grad_(False)
            return super().__call__(model)

    wrapper = build_optim_wrapper(
        nn.Linear(2, 1),
        dict(constructor=name, optimizer=dict(type='SGD', lr=0.1),
             paramwise_cfg=dict(bias_lr_mult=2.0)))
    assert len(wrapper.optimizer.param_groups) == 1


def test_dcn_offset_lr_mult_applies_to_deformable_conv_offsets():

    class DeformConv2d(nn.Conv2d):
        """Named like mmcv.ops.DeformConv2d."""

    class DeformConv2dPack(DeformConv2d):

        def __init__(self):
            super().__init__(2, 2, 3)
            self.conv_offset = nn.Conv2d(2, 18, 3)

    model = nn.Sequential(DeformConv2dPack())
    wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
             paramwise_cfg=dict(dcn_offset_lr_mult=0.1, bias_lr_mult=2.0,
                                bias_decay_mult=0.0)))
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {
        names[id(g['params'][0])]: g
        for g in wrapper.optimizer.param_groups
    }
    assert groups['0.bias']['lr'] == 0.2
    assert groups['0.conv_offset.weight']['lr'] == 0.1 * 0.1
    assert groups['0.conv_offset.bias']['lr'] == 0.1 * 0.1
    assert groups['0.conv_offset.bias']['weight_decay'] == 1e-4
