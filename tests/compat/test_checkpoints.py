"""Checkpoints across the legacy (mmcv) and engine layouts: conversion,
safe loading, and resuming across runners."""
import copy
import os

import numpy as np
import pytest
import torch

import compat
import legacy
from compat.checkpoints import infer_by_epoch
from engine.runner import CheckpointLoadError, Runner

from compat_toys import (MMCVToyModel, assert_same_params, params,
                         regression_loader, seeded, unique)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'parity', 'fixtures')
CFG = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9),
    optimizer_config=dict(grad_clip=None),
    lr_config=dict(policy='step', step=[2, 3], warmup='linear',
                   warmup_iters=7, warmup_ratio=0.2),
    checkpoint_config=dict(interval=1))


def legacy_runner(tmp_path, model, runner_cfg, name='l'):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    kind = legacy.EpochBasedRunner if runner_cfg['type'] == \
        'EpochBasedRunner' else legacy.IterBasedRunner
    runner = kind(model=model, optimizer=optimizer,
                  work_dir=str(tmp_path / name),
                  logger=legacy.get_logger(unique('ckpt-legacy')),
                  **{k: v for k, v in runner_cfg.items()
                     if k not in ('type', 'interval')})
    runner.register_training_hooks(
        lr_config=copy.deepcopy(CFG['lr_config']),
        optimizer_config=dict(grad_clip=None),
        checkpoint_config=dict(interval=runner_cfg.get('interval', 1)))
    return runner


def engine_runner(tmp_path, model, runner_cfg, **extra):
    kwargs = compat.migrate_config(dict(CFG, runner=runner_cfg))
    kwargs.update(extra)
    return Runner(model=compat.adapt(model), work_dir=str(tmp_path / 'e'),
                  train_dataloader=regression_loader(),
                  experiment_name=unique('ckpt'), **kwargs)


def test_legacy_run_stopped_after_epoch_2_resumes_on_the_engine(tmp_path):
    """Acceptance: legacy.Runner trains 2 of 4 epochs; the engine resumes
    its epoch_2.pth with the adapted model (optimizer momentum, warm-up and
    step schedule included) and ends equal to an uninterrupted legacy
    run."""
    full = seeded(MMCVToyModel)
    legacy_runner(tmp_path, full, dict(type='EpochBasedRunner', max_epochs=4),
                  'full').run([regression_loader()], [('train', 1)])
    half = seeded(MMCVToyModel)
    legacy_runner(tmp_path, half, dict(type='EpochBasedRunner', max_epochs=2),
                  'half').run([regression_loader()], [('train', 1)])
    resumed = seeded(MMCVToyModel, seed=9)
    lrs = []

    class Lr(legacy.Hook):
        def before_train_iter(self, runner):
            lrs.append((runner.epoch, runner.iter, runner.current_lr()[0]))

    runner = engine_runner(
        tmp_path, resumed, dict(type='EpochBasedRunner', max_epochs=4),
        load_from=str(tmp_path / 'half' / 'epoch_2.pth'), resume=True)
    runner.register_hook(compat.bridge_hook(Lr()))
    runner.train()
    assert_same_params(params(full), params(resumed))
    assert lrs[0][:2] == (2, 12)
    assert lrs[0][2] == pytest.approx(0.02 * 0.1)


def test_iteration_based_legacy_checkpoint_lands_on_the_right_iteration(
        tmp_path):
    """mmcv's IterBasedRunner saves iter_10.pth with meta iter=9; the engine
    resumes at iteration 10 and ends where an uninterrupted run ends."""
    runner_cfg = dict(type='IterBasedRunner', max_iters=16)
    full = seeded(MMCVToyModel)
    legacy_runner(tmp_path, full, runner_cfg, 'full').run(
        [regression_loader()], [('train', 1)])
    half = seeded(MMCVToyModel)
    legacy_runner(tmp_path, half, dict(runner_cfg, max_iters=10,
                                       interval=10), 'half').run(
        [regression_loader()], [('train', 1)])
    saved = torch.load(tmp_path / 'half' / 'iter_10.pth')
    assert saved['meta']['iter'] == 9
    resumed = seeded(MMCVToyModel, seed=9)
    runner = engine_runner(tmp_path, resumed, runner_cfg,
                           load_from=str(tmp_path / 'half' / 'iter_10.pth'),
                           resume=True)
    runner.train()
    assert runner.iter == 16
    assert_same_params(params(full), params(resumed))


def test_engine_checkpoint_resumes_in_the_legacy_runner(tmp_path):
    full = seeded(MMCVToyModel)
    legacy_runner(tmp_path, full, dict(type='EpochBasedRunner', max_epochs=4),
                  'full').run([regression_loader()], [('train', 1)])
    half = seeded(MMCVToyModel)
    engine_runner(tmp_path, half, dict(type='EpochBasedRunner',
                                       max_epochs=2)).train()
    engine_ckpt = torch.load(tmp_path / 'e' / 'epoch_2.pth')
    assert 'message_hub' in engine_ckpt
    torch.save(compat.engine_to_legacy(engine_ckpt), tmp_path / 'old.pth')
    resumed = seeded(MMCVToyModel, seed=9)
    runner = legacy_runner(tmp_path, resumed,
                           dict(type='EpochBasedRunner', max_epochs=4), 'r')
    runner.resume(str(tmp_path / 'old.pth'))
    runner.run([regression_loader()], [('train', 1)])
    assert_same_params(params(full), params(resumed))


def test_real_mmcv_checkpoints_load_safely():
    for name, by_epoch in (('mmcv_epoch_2.pth', True),
                           ('mmcv_iter_10.pth', False)):
        checkpoint = compat.load_legacy_checkpoint(
            os.path.join(FIXTURES, name))
        assert compat.is_legacy_checkpoint(checkpoint)
        assert 'mmcv_version' in checkpoint['meta']
        converted = compat.legacy_to_engine(checkpoint, by_epoch=by_epoch)
        assert converted['meta']['iter'] == checkpoint['meta']['iter'] + (
            0 if by_epoch else 1)
        assert converted['message_hub']['runtime_info']['iter'] == \
            converted['meta']['iter']


def legacy_layout(**meta):
    return dict(meta=dict(dict(epoch=3, iter=30, mmcv_version='1.7.2'),
                          **meta),
                state_dict={'w': torch.ones(1)},
                optimizer=dict(state={}, param_groups=[dict(lr=0.1,
                                                            params=[0])]))


def test_conversion_round_trips_and_carries_hook_messages():
    old = legacy_layout(hook_msgs=dict(best_score=np.float64(0.5),
                                       best_ckpt='best.pth', other=1),
                        fp16=dict(loss_scaler=dict(scale=512.0)))
    for by_epoch in (True, False):
        new = compat.legacy_to_engine(old, by_epoch=by_epoch)
        info = new['message_hub']['runtime_info']
        assert info['best_score'] == 0.5 and type(info['best_score']) is float
        assert info['best_ckpt'] == 'best.pth'
        assert new['optimizer']['loss_scaler'] == dict(scale=512.0)
        assert new['meta']['epoch'] == (3 if by_epoch else 0)
        assert new['meta']['iter'] == (30 if by_epoch else 31)
        back = compat.engine_to_legacy(new, by_epoch=by_epoch)
        assert back['meta']['epoch'] == 3 and back['meta']['iter'] == 30
        assert back['meta']['hook_msgs']['best_ckpt'] == 'best.pth'
        assert back['meta']['fp16'] == dict(loss_scaler=dict(scale=512.0))
        assert 'loss_scaler' not in back['optimizer']


def test_runner_kind_is_inferred_from_mmcv_file_names():
    old = legacy_layout(iter=9)
    assert infer_by_epoch(old, 'work/iter_10.pth') is False
    assert infer_by_epoch(old, 'work/epoch_3.pth') is True
    assert infer_by_epoch(legacy_layout(), 'work/iter_10.pth') is True


def test_unsafe_file_needs_the_explicit_opt_out(tmp_path):
    old = legacy_layout(hook_msgs=dict(best_score=np.float64(0.5)))
    torch.save(old, tmp_path / 'numpy.pth')
    with pytest.raises(CheckpointLoadError, match='weights_only=False'):
        compat.load_legacy_checkpoint(str(tmp_path / 'numpy.pth'))
    with pytest.raises(CheckpointLoadError, match='weights_only=False'):
        compat.upgrade_checkpoint_file(str(tmp_path / 'numpy.pth'),
                                       str(tmp_path / 'new.pth'))
    meta = compat.upgrade_checkpoint_file(
        str(tmp_path / 'numpy.pth'), str(tmp_path / 'new.pth'),
        weights_only=False)
    assert meta['epoch'] == 3
    safe = torch.load(tmp_path / 'new.pth', weights_only=True)
    assert safe['message_hub']['runtime_info']['best_score'] == 0.5


@pytest.mark.parametrize('checkpoint, error', [
    ('not a dict', TypeError),
    (dict(state_dict={}), KeyError),
    (dict(state_dict={}, meta=dict(epoch='3', iter=1)), KeyError),
])
def test_malformed_checkpoints_get_clear_errors(checkpoint, error):
    with pytest.raises(error):
        compat.legacy_to_engine(checkpoint)


def test_engine_checkpoints_pass_the_hook_untouched():
    checkpoint = dict(meta=dict(epoch=1, iter=5), state_dict={},
                      message_hub=dict(log_scalars={}, runtime_info={},
                                       resumed_keys={}))
    before = copy.deepcopy(checkpoint)
    compat.LegacyCheckpointHook().after_load_checkpoint(object(), checkpoint)
    assert checkpoint == before
