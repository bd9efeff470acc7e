"""The smaller mmcv hooks as a training script uses them."""
import pytest
import torch
from torch.utils.data import DataLoader

import legacy
from legacy_scenarios import RegressionModel, regression_loader


def train(logger, tmp_path, hooks, loader=None, max_epochs=2, model=None,
          workflow=(('train', 1), )):
    torch.manual_seed(0)
    model = model or RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=max_epochs)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.register_custom_hooks(hooks)
    loader = loader or regression_loader(8, 4)
    runner.run([loader] * len(workflow), list(workflow))
    return runner, model


def test_iter_timer_hook_logs_times(logger, tmp_path):
    runner, _ = train(logger, tmp_path, [])
    history = runner.log_buffer.val_history
    assert len(history['time']) == len(history['data_time']) == 4
    assert all(isinstance(t, float) and t >= 0
               for t in history['time'] + history['data_time'])
    # every iteration waited for its data before it finished
    assert all(d <= t for d, t in zip(history['data_time'],
                                      history['time']))


def test_ema_hook_keeps_an_average_as_buffers(logger, tmp_path):
    runner, model = train(
        logger, tmp_path, [dict(type='EMAHook', momentum=0.5, warm_up=1)],
        max_epochs=1)
    buffers = dict(model.named_buffers())
    assert sorted(buffers) == ['ema_linear_bias', 'ema_linear_weight']
    # after the epoch the model holds the averaged weights, the buffers the
    # trained ones (swapped back at the next epoch start)
    torch.manual_seed(0)
    plain = RegressionModel()
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1)
    ema = plain.linear.weight.detach().clone()
    for i, (x, y) in enumerate(regression_loader(8, 4)):
        optimizer.zero_grad()
        ((plain.linear(x) - y)**2).mean().backward()
        optimizer.step()
        momentum = min(0.5, (1 + i) / (1 + i))
        ema = ema * (1 - momentum) + momentum * plain.linear.weight.detach()
    assert torch.equal(buffers['ema_linear_weight'], plain.linear.weight)
    torch.testing.assert_close(model.linear.weight, ema)


def test_ema_hook_arguments():
    with pytest.raises(ValueError, match='interval'):
        legacy.EMAHook(interval=0)
    with pytest.raises(ValueError, match='momentum'):
        legacy.EMAHook(momentum=1.5)


class EpochSampler(torch.utils.data.SequentialSampler):

    def __init__(self, data):
        super().__init__(data)
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_dist_sampler_seed_hook_sets_the_epoch(logger, tmp_path):
    data = list(regression_loader(8, 1).dataset)
    sampler = EpochSampler(data)
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    train(logger, tmp_path, [dict(type='DistSamplerSeedHook')],
          loader=loader, max_epochs=3)
    assert sampler.epochs == [0, 1, 2]


def test_dist_sampler_seed_hook_accepts_loaders_without_batch_sampler(
        logger, tmp_path):
    data = [(x.unsqueeze(0), y.unsqueeze(0))
            for x, y in regression_loader(4, 1).dataset]
    loader = DataLoader(data, batch_size=None)
    runner, _ = train(logger, tmp_path, [dict(type='DistSamplerSeedHook')],
                      loader=loader, max_epochs=1)
    assert runner.iter == 4


def test_sync_buffers_and_empty_cache_hooks_run_in_one_process(
        logger, tmp_path):
    runner, model = train(
        logger, tmp_path, [dict(type='SyncBuffersHook'),
                           dict(type='EmptyCacheHook', after_iter=True)],
        workflow=(('train', 1), ('val', 1)))
    assert runner.epoch == 2


def test_checkpoint_hook_by_iteration_and_out_dir(logger, tmp_path):
    runner, _ = train(
        logger, tmp_path / 'work', [
            dict(type='CheckpointHook', interval=3, by_epoch=False,
                 out_dir=str(tmp_path / 'out'), save_optimizer=False,
                 filename_tmpl='ckpt_{}.pth', create_symlink=False)
        ], max_epochs=2)
    saved = sorted(p.name for p in (tmp_path / 'out' / 'work').iterdir())
    # saved after iterations 3 and 4 (the last), both in epoch 2: the epoch
    # runner names files by epoch, as mmcv does
    assert saved == ['ckpt_2.pth']
    ckpt = torch.load(tmp_path / 'out' / 'work' / 'ckpt_2.pth',
                      weights_only=True)
    assert 'optimizer' not in ckpt and ckpt['meta']['iter'] == 3
