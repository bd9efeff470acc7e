"""RuntimeInfoHook, LoggerHook and CheckpointHook as a user configures them."""
import json
import os
import os.path as osp

import pytest
import torch

from engine.hooks import CheckpointHook, LoggerHook
from engine.runner import Runner, load_checkpoint_file
from runner_helpers import runner_kwargs


def test_runtime_info_reaches_the_message_hub(tmp_path):
    runner = Runner(**runner_kwargs(tmp_path, 'info'))
    runner.train()
    hub = runner.message_hub
    assert hub.get_info('epoch') == 1 and hub.get_info('iter') == 7
    assert hub.get_info('max_iters') == 8
    assert len(hub.get_scalar('train/lr').data[0]) == 8
    losses = hub.get_scalar('train/loss').data[0]
    assert len(losses) == 8 and losses.dtype.kind == 'f'
    assert 'val/toy/mae' in hub.log_scalars
    assert hub.get_info('loop_stage') is None  # popped after training


def test_logger_hook_copies_logs_to_out_dir(tmp_path):
    out = tmp_path / 'shared'
    runner = Runner(**runner_kwargs(
        tmp_path, 'outdir', log_level='INFO',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1,
                                       out_dir=str(out)))))
    runner.train()
    copied = out / osp.basename(runner.work_dir)
    assert (copied / 'vis_data' / 'scalars.json').is_file()
    assert (copied / f'{runner.timestamp}.log').is_file()
    lines = (copied / 'vis_data' / 'scalars.json').read_text().splitlines()
    assert len([json.loads(x) for x in lines if '"lr"' in x]) == 8
    same = osp.join(runner.log_dir, 'vis_data', f'{runner.timestamp}.json')
    assert open(same).read().splitlines() == lines


def test_logger_hook_iter_based_lines(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'iterlog', log_level='INFO',
        train_cfg=dict(by_epoch=False, max_iters=6, val_interval=3),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=3),
                           checkpoint=dict(type='CheckpointHook',
                                           by_epoch=False, interval=3))))
    runner.train()
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        text = f.read()
    assert 'Iter(train) [3/6]  lr: 5.0000e-02' in text
    assert 'Iter(val) [2/2]' in text
    assert 'Saving checkpoint at 6 iterations' in text


@pytest.mark.parametrize('kwargs, error', [
    (dict(interval=0), ValueError),
    (dict(interval='10'), TypeError),
    (dict(ignore_last=1), TypeError),
    (dict(out_dir=3), TypeError),
    (dict(out_suffix=[1]), TypeError),
    (dict(file_client_args=dict(backend='local')), ValueError),
])
def test_logger_hook_bad_arguments(kwargs, error):
    with pytest.raises(error):
        LoggerHook(**kwargs)


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(interval=1.5), TypeError, 'interval'),
    (dict(save_begin=-1), ValueError, 'save_begin'),
    (dict(save_best=['a', 'a']), ValueError, 'duplicates'),
    (dict(save_best='auto', rule='bigger'), KeyError, 'rule'),
    (dict(save_best='weird'), ValueError, 'rule'),
    (dict(save_best=['acc', 'loss'], rule=['greater'] * 3), ValueError,
     'rule'),
    (dict(filename_tmpl='ckpt.pth'), ValueError, 'filename_tmpl'),
    (dict(max_keep=3), TypeError, 'max_keep'),
    (dict(backend_args=dict(backend='petrel')), ValueError, 'petrel'),
])
def test_checkpoint_hook_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        CheckpointHook(**kwargs)


def test_checkpoint_hook_infers_rules():
    hook = CheckpointHook(save_best=['acc', 'val_loss', 'mAP_50'])
    assert hook.rules == ['greater', 'less', 'greater']


def test_published_checkpoint_keeps_only_the_published_keys(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'publish',
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=1,
            published_keys=['meta', 'state_dict']))))
    runner.train()
    published = [f for f in os.listdir(runner.work_dir)
                 if f.startswith('epoch_2-')]
    assert len(published) == 1 and len(published[0]) == len(
        'epoch_2-12345678.pth')
    ckpt = load_checkpoint_file(osp.join(runner.work_dir, published[0]))
    assert set(ckpt) == {'meta', 'state_dict'}
    assert torch.equal(ckpt['state_dict']['linear.weight'],
                       runner.model.linear.weight.detach())
