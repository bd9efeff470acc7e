"""build_optimizer with paramwise_cfg (the groups themselves are compared to
mmcv's in test_legacy_vs_mmcv_fixtures.py)."""
import pytest
import torch
import torch.nn as nn

import legacy
from legacy_scenarios import ParamwiseNet


def test_plain_config_uses_model_parameters():
    model = ParamwiseNet()
    optimizer = legacy.build_optimizer(
        model, dict(type='SGD', lr=0.1, momentum=0.9))
    assert isinstance(optimizer, torch.optim.SGD)
    assert len(optimizer.param_groups) == 1
    assert optimizer.param_groups[0]['params'] == list(model.parameters())


def test_wrapped_model_and_frozen_parameters():
    model = ParamwiseNet()
    wrapped = legacy.MMDataParallel(model)
    optimizer = legacy.build_optimizer(
        wrapped, dict(type='SGD', lr=0.1, weight_decay=1e-4,
                      paramwise_cfg=dict(norm_decay_mult=0.)))
    groups = optimizer.param_groups
    # one group per parameter, frozen ones included, in model order
    assert [g['params'][0] for g in groups] == list(model.parameters())
    frozen = groups[-2]
    assert frozen['params'][0] is model.frozen.weight
    assert frozen['weight_decay'] == 1e-4  # untouched by the rules


def test_bypass_duplicate():
    model = ParamwiseNet()
    model.tied = nn.Linear(4, 2, bias=False)
    model.tied.weight = model.head.weight
    with pytest.raises(ValueError, match='more than one parameter group'):
        legacy.build_optimizer(
            model, dict(type='SGD', lr=0.1, paramwise_cfg=dict(
                bias_lr_mult=2.)))
    with pytest.warns(UserWarning, match='is duplicate'):
        optimizer = legacy.build_optimizer(
            model, dict(type='SGD', lr=0.1, paramwise_cfg=dict(
                bias_lr_mult=2., bypass_duplicate=True)))
    assert len(optimizer.param_groups) == len(list(model.parameters()))


def test_bad_configs_are_clear_errors():
    model = ParamwiseNet()
    with pytest.raises(KeyError, match='flat_decay_mult'):
        legacy.build_optimizer(model, dict(
            type='SGD', lr=0.1, weight_decay=1e-4,
            paramwise_cfg=dict(flat_decay_mult=0.)))
    with pytest.raises(ValueError, match='bias_decay_mult.*weight_decay'):
        legacy.build_optimizer(model, dict(
            type='SGD', lr=0.1, paramwise_cfg=dict(bias_decay_mult=0.)))
    with pytest.raises(ValueError, match=r"custom_keys\['head'\]"):
        legacy.build_optimizer(model, dict(
            type='SGD', lr=0.1,
            paramwise_cfg=dict(custom_keys=dict(head=dict(decay_mult=0)))))
    with pytest.raises(TypeError, match='custom_keys'):
        legacy.build_optimizer(model, dict(
            type='SGD', lr=0.1, paramwise_cfg=dict(custom_keys=['head'])))
    with pytest.raises(KeyError, match="'SDG'.*SGD"):
        legacy.build_optimizer(model, dict(type='SDG', lr=0.1))
    with pytest.raises(TypeError, match='must be a dict'):
        legacy.build_optimizer(model, 'SGD')


def test_custom_constructor_from_the_registry():

    @legacy.OPTIMIZER_BUILDERS.register_module(force=True)
    class HalfLrConstructor(legacy.DefaultOptimizerConstructor):

        def __call__(self, model):
            optimizer = super().__call__(model)
            for group in optimizer.param_groups:
                group['lr'] /= 2
            return optimizer

    optimizer = legacy.build_optimizer(
        ParamwiseNet(),
        dict(type='SGD', lr=0.1, constructor='HalfLrConstructor'))
    assert optimizer.param_groups[0]['lr'] == 0.05
    assert legacy.OPTIMIZERS.get('AdamW') is torch.optim.AdamW
    constructor = legacy.build_optimizer_constructor(
        dict(type='DefaultOptimizerConstructor',
             optimizer_cfg=dict(type='Adam', lr=1e-3)))
    assert isinstance(constructor(ParamwiseNet()), torch.optim.Adam)
