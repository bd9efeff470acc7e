"""Resuming equals not stopping: bitwise, for epoch- and iteration-based
training, with shuffling, dropout, validation, gradient accumulation and
schedulers in play; and the data position is restored without loading the
skipped batches."""
import os
import os.path as osp

import pytest
import torch

from engine.hooks import Hook
from engine.runner import CheckpointSaveError, Runner, load_checkpoint_file
from engine.runner import checkpoint as ckpt_module
from runner_helpers import (CountingDataset, ToyModel, assert_bitwise_equal,
                            loader, params, runner_kwargs)


class Stop(Exception):
    pass


class StopAt(Hook):
    """Simulates a killed job: raises once the given point is reached
    (after the checkpoint of that point was written)."""

    priority = 'LOWEST'

    def __init__(self, epoch=None, iteration=None):
        self.epoch, self.iteration = epoch, iteration

    def after_train_epoch(self, runner):
        if self.epoch is not None and runner.epoch + 1 == self.epoch:
            raise Stop

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.iteration is not None and runner.iter + 1 == self.iteration:
            raise Stop


class LossLog(Hook):
    """The losses of every iteration, to compare the whole trajectory."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))


def _epoch_kwargs(tmp_path, name, dataset=None, **extra):
    return runner_kwargs(
        tmp_path, name,
        model=dict(type=ToyModel, dropout=0.3),
        train_dataloader=loader(shuffle=True, dataset=dataset),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
                           accumulative_counts=3),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0,
                 end=5),
            dict(type='MultiStepLR', milestones=[2, 3], gamma=0.5)],
        **extra)


def test_epoch_based_resume_is_bitwise_equal(tmp_path):
    straight_log = LossLog()
    straight = Runner(**_epoch_kwargs(tmp_path, 'straight',
                                      custom_hooks=[straight_log]))
    straight.train()

    first_log = LossLog()
    first = Runner(**_epoch_kwargs(tmp_path, 'cut',
                                   custom_hooks=[StopAt(epoch=2),
                                                 first_log]))
    with pytest.raises(Stop):
        first.train()
    # 8 iterations with accumulation 3: two gradients are pending
    assert 'pending_grads' in load_checkpoint_file(
        osp.join(first.work_dir, 'epoch_2.pth'))

    second_log = LossLog()
    second = Runner(**_epoch_kwargs(
        tmp_path, 'resumed', resume=True,
        load_from=osp.join(first.work_dir, 'epoch_2.pth'),
        custom_hooks=[second_log]))
    second.train()
    assert (second.epoch, second.iter) == (4, 16)
    assert_bitwise_equal(params(straight.model), params(second.model))
    assert first_log.losses + second_log.losses == straight_log.losses
    assert straight.optim_wrapper.get_lr() == second.optim_wrapper.get_lr()


@pytest.mark.parametrize('stop, checkpoint', [(7, 'iter_6.pth'),
                                              (13, 'iter_12.pth')])
def test_epoch_based_resume_from_a_mid_epoch_checkpoint(tmp_path, stop,
                                                        checkpoint):
    """mmengine restarts the epoch (training its first batches twice); here
    the epoch continues where the checkpoint was taken (iter_12 is taken
    after the last batch of epoch 3, before its epoch-end hooks ran)."""
    def kwargs(name, **extra):
        return _epoch_kwargs(tmp_path, name, default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=3)), **extra)

    straight_log = LossLog()
    straight = Runner(**kwargs('mid_straight', custom_hooks=[straight_log]))
    straight.train()
    with pytest.raises(Stop):
        Runner(**kwargs('mid_cut', custom_hooks=[StopAt(iteration=stop)])
               ).train()
    second_log = LossLog()
    second = Runner(**kwargs(
        'mid_resumed', resume=True, custom_hooks=[second_log],
        load_from=str(tmp_path / 'mid_cut' / checkpoint)))
    second.train()
    assert_bitwise_equal(params(straight.model), params(second.model))
    assert second_log.losses == straight_log.losses[stop - 1:]


def _iter_kwargs(tmp_path, name, dataset=None, **extra):
    return runner_kwargs(
        tmp_path, name,
        model=dict(type=ToyModel, dropout=0.3),
        train_dataloader=loader(shuffle=True, dataset=dataset),
        train_cfg=dict(by_epoch=False, max_iters=11, val_interval=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05),
                           accumulative_counts=2),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=11,
                             by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=3),
            logger=dict(type='LoggerHook', interval=2)),
        **extra)


def test_iter_based_resume_mid_pass_skips_without_loading(tmp_path):
    straight_log = LossLog()
    straight = Runner(**_iter_kwargs(tmp_path, 'istraight',
                                     custom_hooks=[straight_log]))
    straight.train()

    first_log = LossLog()
    first = Runner(**_iter_kwargs(tmp_path, 'icut',
                                  custom_hooks=[StopAt(iteration=8),
                                                first_log]))
    with pytest.raises(Stop):
        first.train()
    ckpt = load_checkpoint_file(osp.join(first.work_dir, 'iter_6.pth'))
    position = ckpt['meta']['train_loop']
    assert (position['pass_index'], position['served']) == (1, 2)

    dataset = CountingDataset()
    second_log = LossLog()
    second = Runner(**_iter_kwargs(
        tmp_path, 'iresumed', dataset=dataset, resume=True,
        load_from=osp.join(first.work_dir, 'iter_6.pth'),
        custom_hooks=[second_log]))
    second.train()
    assert second.iter == 11
    assert_bitwise_equal(params(straight.model), params(second.model))
    assert first_log.losses[:6] + second_log.losses == straight_log.losses
    # 5 more iterations of 4 samples: the 6 skipped batches were not loaded
    assert dataset.loaded == 5 * 4


def test_resume_true_finds_the_latest_checkpoint(tmp_path):
    kwargs = _epoch_kwargs(tmp_path, 'auto', custom_hooks=[StopAt(epoch=3)])
    with pytest.raises(Stop):
        Runner(**kwargs).train()
    again = Runner(**_epoch_kwargs(tmp_path, 'auto', resume=True))
    again.train()
    assert again.message_hub.get_info('epoch') == 3
    assert again.iter == 16


def test_changed_schedule_on_resume_is_warned(tmp_path):
    with pytest.raises(Stop):
        Runner(**_epoch_kwargs(tmp_path, 'sched',
                               custom_hooks=[StopAt(epoch=1)])).train()
    kwargs = _epoch_kwargs(tmp_path, 'sched', resume=True,
                           log_level='WARNING')
    kwargs['param_scheduler'][1]['milestones'] = [3]
    runner = Runner(**kwargs)
    warnings = []
    runner.logger.warning = warnings.append
    runner.train()
    assert any('milestones' in w and 'ignored' in w for w in warnings)
    # as in mmengine, the saved schedule wins
    assert runner.param_schedulers[1].milestones == {2: 1, 3: 1}


def test_failed_checkpoint_write_keeps_previous_one(tmp_path, monkeypatch):
    class FailSecondSave(Hook):
        priority = 'HIGHEST'

        def after_train_epoch(self, runner):
            if runner.epoch == 1:  # the save of epoch 2 will fail
                monkeypatch.setattr(ckpt_module.os, 'replace', _no_space)

    def _no_space(src, dst):
        raise OSError(28, 'No space left on device')

    runner = Runner(**_epoch_kwargs(
        tmp_path, 'diskfull',
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                           max_keep_ckpts=1)),
        custom_hooks=[FailSecondSave()]))
    with pytest.raises(CheckpointSaveError, match='No space left'):
        runner.train()
    monkeypatch.undo()
    assert sorted(f for f in os.listdir(runner.work_dir)
                  if f.endswith('.pth')) == ['epoch_1.pth']
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        assert f.read().endswith('epoch_1.pth')
    assert load_checkpoint_file(
        osp.join(runner.work_dir, 'epoch_1.pth'))['meta']['epoch'] == 1


def test_resume_from_weights_only_file_is_a_clear_error(tmp_path):
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': ToyModel().state_dict()}, path)
    runner = Runner(**_epoch_kwargs(tmp_path, 'weights', resume=True,
                                    load_from=path))
    with pytest.raises(KeyError, match='load_from'):
        runner.train()


def test_amp_resume_restores_the_loss_scaler(tmp_path):
    def kwargs(name, **extra):
        result = _epoch_kwargs(tmp_path, name, **extra)
        result['optim_wrapper'] = dict(
            type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic',
            optimizer=dict(type='SGD', lr=0.05), accumulative_counts=3)
        return result

    straight = Runner(**kwargs('amp_straight'))
    straight.train()
    with pytest.raises(Stop):
        Runner(**kwargs('amp_cut', custom_hooks=[StopAt(epoch=2)])).train()
    path = str(tmp_path / 'amp_cut' / 'epoch_2.pth')
    assert 'loss_scaler' in load_checkpoint_file(path)['optimizer']
    resumed = Runner(**kwargs('amp_resumed', resume=True, load_from=path))
    resumed.train()
    assert_bitwise_equal(params(straight.model), params(resumed.model))


@pytest.mark.parametrize('sampler', ['DefaultSampler', 'InfiniteSampler'])
def test_iter_resume_with_config_built_samplers(tmp_path, sampler):
    """Dataloaders built from configs (seeded samplers, set_epoch per pass);
    the resumed position is found inside the sampler's index stream."""
    def kwargs(name, **extra):
        result = _iter_kwargs(tmp_path, f'{sampler}_{name}', **extra)
        result['train_dataloader'] = dict(
            dataset=dict(type=CountingDataset, size=10),
            sampler=dict(type=sampler, shuffle=True),
            batch_size=4, collate_fn=dict(type='default_collate'))
        return result

    straight = Runner(**kwargs('straight'))
    straight.train()
    with pytest.raises(Stop):
        Runner(**kwargs('cut', custom_hooks=[StopAt(iteration=8)])).train()
    resumed = Runner(**kwargs(
        'resumed', resume=True,
        load_from=str(tmp_path / f'{sampler}_cut' / 'iter_6.pth')))
    resumed.train()
    assert_bitwise_equal(params(straight.model), params(resumed.model))
    # only the 5 remaining batches (at most 4 samples each) were loaded
    assert resumed.train_dataloader.dataset.loaded <= 5 * 4
