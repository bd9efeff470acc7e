"""IterTimerHook, ParamSchedulerHook, DistSamplerSeedHook, EmptyCacheHook and
NonFiniteLossHook with small fake runners."""
import uuid

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, IterableDataset

from engine.hooks import (DistSamplerSeedHook, EmptyCacheHook,
                          IterTimerHook, NonFiniteLossHook,
                          ParamSchedulerHook)
from engine.logging import MessageHub
from engine.model import NonFiniteLossError
from engine.optim import MultiStepLR, ReduceOnPlateauLR, StepLR
from engine.registry import HOOKS


class FakeRunner:

    def __init__(self, **kwargs):
        self.epoch = self.iter = 0
        self.max_epochs, self.max_iters = 2, 4
        self.message_hub = MessageHub.get_instance(
            f'test_engine_simple_hooks_{uuid.uuid4().hex}')
        self.__dict__.update(kwargs)


def test_iter_timer_logs_times_and_eta():
    runner = FakeRunner(val_dataloader=[0, 1, 2])
    hook = IterTimerHook()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    for i in range(2):
        runner.iter = i
        hook.before_train_iter(runner, i)
        hook.after_train_iter(runner, i)
    hub = runner.message_hub
    times = hub.get_scalar('train/time').data[0]
    assert len(times) == 2 and all(t >= 0 for t in times)
    assert len(hub.get_scalar('train/data_time').data[0]) == 2
    # average iteration time times the 2 iterations left
    assert hub.get_info('eta') == pytest.approx(sum(times) / 2 * 2)

    hook.before_val_epoch(runner)
    hook.before_val_iter(runner, 0)
    hook.after_val_iter(runner, 0)
    val_time = hub.get_scalar('val/time').data[0][0]
    assert hub.get_info('eta') == pytest.approx(val_time * 2)


def _optimizer():
    return torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.)


def test_param_scheduler_hook_steps_by_iter_epoch_and_metric():
    optimizer = _optimizer()
    by_iter = StepLR(optimizer, step_size=1, gamma=0.5, by_epoch=False)
    by_epoch = MultiStepLR(optimizer, milestones=[1], gamma=0.1)
    plateau = ReduceOnPlateauLR(
        optimizer, monitor='acc', rule='greater', patience=0, factor=0.5)
    runner = FakeRunner(param_schedulers=[by_iter, by_epoch, plateau])
    hook = ParamSchedulerHook()
    hook.after_train_iter(runner, 0)
    assert optimizer.param_groups[0]['lr'] == 0.5
    hook.after_train_epoch(runner)
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.05)
    hook.after_val_epoch(runner, None)  # no metrics: nothing
    hook.after_val_epoch(runner, dict(acc=1.))
    hook.after_val_epoch(runner, dict(acc=0.5))  # worse: halved
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.025)


def test_param_scheduler_hook_with_a_dict_and_bad_types():
    gen, disc = _optimizer(), _optimizer()
    runner = FakeRunner(param_schedulers=dict(
        gen=[StepLR(gen, step_size=1, by_epoch=False)],
        disc=[StepLR(disc, step_size=1, gamma=0.5, by_epoch=False)]))
    ParamSchedulerHook().after_train_iter(runner, 0)
    assert gen.param_groups[0]['lr'] == pytest.approx(0.1)
    assert disc.param_groups[0]['lr'] == 0.5
    ParamSchedulerHook().after_train_iter(FakeRunner(param_schedulers=None), 0)
    with pytest.raises(TypeError, match='list of parameter schedulers or a '
                       'dict of such lists, but got tuple'):
        ParamSchedulerHook().after_train_epoch(
            FakeRunner(param_schedulers=(1, )))
    with pytest.raises(TypeError, match=r"param_schedulers\['gen'\] should "
                       'be a list'):
        ParamSchedulerHook().after_train_epoch(
            FakeRunner(param_schedulers=dict(gen=1)))


class EpochSampler:
    """A sampler that remembers its epoch."""

    def __init__(self, n):
        self.n, self.epoch = n, None

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class Stream(IterableDataset):

    def __iter__(self):
        return iter(range(3))


class TrainLoop:

    def __init__(self, dataloader):
        self.dataloader = dataloader


def test_sampler_seed_hook_finds_the_sampler_or_leaves_the_loader_alone():
    sampler = EpochSampler(4)
    hook = DistSamplerSeedHook()
    runner = FakeRunner(epoch=3, train_loop=TrainLoop(
        DataLoader(list(range(4)), sampler=sampler, batch_size=2)))
    hook.before_train_epoch(runner)
    assert sampler.epoch == 3

    batch_sampler = torch.utils.data.BatchSampler(EpochSampler(4), 2, False)
    runner.train_loop = TrainLoop(
        DataLoader(list(range(4)), batch_sampler=batch_sampler))
    runner.epoch = 5
    hook.before_train_epoch(runner)
    assert batch_sampler.sampler.epoch == 5

    # mmengine crashes on these: no batch sampler, an iterable dataset
    for loader in (DataLoader(list(range(4)), batch_size=None),
                   DataLoader(Stream(), batch_size=None), [1, 2, 3]):
        runner.train_loop = TrainLoop(loader)
        hook.before_train_epoch(runner)


def test_empty_cache_hook_is_harmless_without_cuda():
    hook = HOOKS.build(dict(type='EmptyCacheHook', before_epoch=True,
                            after_iter=True))
    assert isinstance(hook, EmptyCacheHook)
    runner = FakeRunner()
    hook.before_train_epoch(runner)
    hook.after_val_iter(runner, 0)
    hook.after_test_epoch(runner)


def _losses(value):
    loss = torch.tensor(value)
    return dict(loss=loss, loss_cls=loss * 2, acc=torch.tensor(50.))


def test_nonfinite_loss_hook_names_the_first_bad_iteration():
    hook = NonFiniteLossHook(interval=4)
    runner = FakeRunner()
    hook.before_train(runner)
    values = [1., float('nan'), float('inf'), 2.]
    for i, value in enumerate(values[:3]):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=_losses(value))
    runner.iter = 3
    with pytest.raises(NonFiniteLossError) as info:
        hook.after_train_iter(runner, 3, outputs=_losses(values[3]))
    assert info.value.iteration == 2
    assert 'iteration 2' in str(info.value) and 'loss_cls=nan' in str(
        info.value) and 'acc=50.0' in str(info.value)


def test_nonfinite_loss_hook_checks_before_saving_and_passes_finite():
    hook = NonFiniteLossHook(interval=100)
    runner = FakeRunner()
    hook.before_train(runner)
    hook.after_train_iter(runner, 0, outputs=_losses(1.))
    hook.before_save_checkpoint(runner, {})  # finite: nothing
    runner.iter = 1
    hook.after_train_iter(runner, 1, outputs=_losses(float('-inf')))
    with pytest.raises(NonFiniteLossError, match='iteration 2'):
        hook.before_save_checkpoint(runner, {})
    hook.after_train_iter(runner, 2, outputs=dict(other=torch.tensor(1.)))
    hook.after_train(runner)  # entries without 'loss' keys are not checked
    with pytest.raises(ValueError, match='positive int'):
        NonFiniteLossHook(interval=0)
