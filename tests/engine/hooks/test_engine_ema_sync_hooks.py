"""EMAHook with a fake runner; SyncBuffersHook with two gloo processes."""
import os
import runpy

import pytest
import torch
import torch.nn as nn
from torch.nn.parallel import DataParallel

from engine.hooks import EMAHook, SyncBuffersHook


# the two-process runner shared with the model wrapper tests
run_distributed = runpy.run_path(
    os.path.join(os.path.dirname(__file__), os.pardir, 'model',
                 'model_dist_helper.py'))['run_distributed']


class FakeRunner:

    def __init__(self, model, **kwargs):
        self.model = model
        self.epoch = self.iter = 0
        self.max_epochs, self.max_iters = 2, 10
        self._resume = False
        self.__dict__.update(kwargs)


def _net(value):
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(value)
    return net


def _set(net, value):
    with torch.no_grad():
        net.weight.fill_(value)


def test_ema_follows_swaps_for_validation_and_saves_the_average():
    net = _net(1.)
    runner = FakeRunner(DataParallel(net))
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.before_train(runner)
    assert hook.src_model is net
    hook.after_train_iter(runner, 0)  # first update copies: 1
    _set(net, 3.)
    hook.after_train_iter(runner, 1)  # 0.5 * 1 + 0.5 * 3
    assert hook.ema_model.module.weight.item() == 2.

    hook.before_val_epoch(runner)
    assert net.weight.item() == 2.
    hook.after_val_epoch(runner, dict(acc=1.))
    assert net.weight.item() == 3.
    assert hook.ema_model.module.weight.item() == 2.

    checkpoint = dict(state_dict={'weight': net.weight.detach().clone()})
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['state_dict']['weight'].item() == 2.
    assert checkpoint['ema_state_dict']['module.weight'].item() == 3.
    assert int(checkpoint['ema_state_dict']['steps']) == 2

    # resuming swaps back: the average goes to the averaged model
    fresh = EMAHook(momentum=0.5)
    fresh.before_run(FakeRunner(_net(0.)))
    fresh.after_load_checkpoint(FakeRunner(None, _resume=True), checkpoint)
    assert fresh.ema_model.module.weight.item() == 2.
    assert int(fresh.ema_model.steps) == 2 and fresh.ema_model._steps == 2


def test_ema_loaded_without_resume_starts_from_the_weights():
    hook = EMAHook()
    hook.before_run(FakeRunner(_net(0.)))
    hook.after_load_checkpoint(
        FakeRunner(None), dict(state_dict={'weight': torch.full((1, 1), 4.)}))
    assert hook.ema_model.module.weight.item() == 4.


def test_ema_before_begin_iter_copies_the_model():
    net = _net(1.)
    runner = FakeRunner(net)
    hook = EMAHook(momentum=0.5, begin_iter=5)
    hook.before_run(runner)
    runner.iter = 2
    _set(net, 7.)
    hook.after_train_iter(runner, 2)
    assert hook.ema_model.module.weight.item() == 7.
    assert hook.ema_model._steps == 0


@pytest.mark.parametrize('kwargs, runner_kwargs, match', [
    (dict(begin_iter=1, begin_epoch=1), None, 'cannot both be set'),
    (dict(begin_iter=-1), None, 'must be an int >= 0'),
    (dict(begin_epoch=3), dict(max_epochs=2), 'beyond max_epochs=2'),
    (dict(begin_iter=11), dict(max_iters=10), 'beyond max_iters=10'),
])
def test_ema_bad_begin(kwargs, runner_kwargs, match):
    with pytest.raises(ValueError, match=match):
        hook = EMAHook(**kwargs)
        hook.before_train(FakeRunner(None, **runner_kwargs))


def _sync_buffers(rank):
    torch.manual_seed(0)
    model = nn.BatchNorm1d(2)
    model.running_mean.fill_(rank * 4.)
    model.num_batches_tracked.fill_(rank * 3 + 1)
    runner = FakeRunner(model)
    hook = SyncBuffersHook()
    hook.after_train_epoch(runner)
    after_train = (model.running_mean.clone(),
                   model.num_batches_tracked.clone())
    model.running_mean.fill_(rank * 10.)
    hook.before_val_epoch(runner)  # synced just before: skipped
    skipped = model.running_mean.clone()
    hook.before_val_epoch(runner)  # validation without training: synced
    return after_train, skipped, model.running_mean.clone()


def test_sync_buffers_hook_averages_buffers_across_ranks():
    for rank, (after_train, skipped, synced) in enumerate(
            run_distributed(_sync_buffers)):
        assert torch.equal(after_train[0], torch.full((2, ), 2.))
        assert after_train[1].item() == 2  # (1 + 4) / 2, truncated
        assert torch.equal(skipped, torch.full((2, ), rank * 10.))
        assert torch.equal(synced, torch.full((2, ), 5.))


def test_sync_buffers_hook_is_a_no_op_in_one_process():
    model = nn.BatchNorm1d(2)
    model.running_mean.fill_(3.)
    hook = SyncBuffersHook()
    hook.after_train_epoch(FakeRunner(model))
    hook.before_val_epoch(FakeRunner(model))
    assert torch.equal(model.running_mean, torch.full((2, ), 3.))
