"""The Runner end to end: train / val / test, logs, checkpoints, errors."""
import json
import os
import os.path as osp

import pytest
import torch

from engine.hooks import Hook
from engine.runner import Runner, load_checkpoint_file
from runner_helpers import (MAE, ToyModel, loader, params, runner_kwargs,
                            unique)


def _scalar_log(runner) -> list:
    path = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_train_val_test_end_to_end(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'e2e', test_dataloader=loader(8, seed=2), test_cfg=dict(),
        test_evaluator=[dict(type=MAE)], log_level='INFO'))
    before = params(runner.model)
    runner.train()
    after = params(runner.model)
    assert not torch.equal(before['linear.weight'], after['linear.weight'])
    assert (runner.epoch, runner.iter) == (2, 8)
    assert sorted(os.listdir(runner.work_dir)) == sorted(
        ['epoch_1.pth', 'epoch_2.pth', 'last_checkpoint', runner.timestamp])
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(runner.work_dir, 'epoch_2.pth')
    ckpt = load_checkpoint_file(osp.join(runner.work_dir, 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 8
    assert set(ckpt) >= {'meta', 'state_dict', 'optimizer', 'message_hub'}

    records = _scalar_log(runner)
    train_steps = [r['step'] for r in records if 'lr' in r]
    assert train_steps == [2, 4, 6, 8]
    assert {'lr', 'loss', 'epoch', 'iter', 'time', 'data_time'} <= set(
        records[0])
    val = [r for r in records if 'toy/mae' in r]
    assert [r['step'] for r in val] == [1, 2]

    metrics = runner.val()
    assert set(metrics) == {'toy/mae'}
    test_metrics = runner.test()
    assert set(test_metrics) == {'toy/mae'}
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        text = f.read()
    assert 'Epoch(train) [2][4/4]  lr: 5.0000e-02' in text
    assert 'Epoch(val) [2][2/2]    toy/mae:' in text


def test_iter_based_loop_with_validation_and_metric(tmp_path):
    seen = []

    class Collect(Hook):
        def after_val_epoch(self, runner, metrics=None):
            seen.append((runner.iter, metrics['toy/mae']))

    runner = Runner(**runner_kwargs(
        tmp_path, 'iterval',
        train_cfg=dict(by_epoch=False, max_iters=10, val_interval=4),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           by_epoch=False, interval=5),
                           logger=dict(type='LoggerHook', interval=5)),
        custom_hooks=[Collect()]))
    runner.train()
    assert runner.iter == 10 and runner.epoch == 0
    assert [it for it, _ in seen] == [4, 8, 10]
    assert all(isinstance(v, float) for _, v in seen)
    assert {'iter_5.pth', 'iter_10.pth'} <= set(os.listdir(runner.work_dir))
    ckpt = load_checkpoint_file(osp.join(runner.work_dir, 'iter_5.pth'))
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (0, 5)


def test_from_cfg_and_default_hook_removal(tmp_path):
    cfg = runner_kwargs(tmp_path, 'fromcfg',
                        default_hooks=dict(checkpoint=None, logger=None))
    runner = Runner.from_cfg(cfg)
    names = [type(h).__name__ for h in runner.hooks]
    assert names == ['RuntimeInfoHook', 'NonFiniteLossHook', 'IterTimerHook',
                     'DistSamplerSeedHook', 'ParamSchedulerHook']
    runner.train()
    assert not any(f.endswith('.pth') for f in os.listdir(runner.work_dir))


def test_custom_hook_priority_and_dict_config(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'prio',
        custom_hooks=[dict(type='EmptyCacheHook', priority='HIGHEST')]))
    assert type(runner.hooks[0]).__name__ == 'EmptyCacheHook'


def test_load_from_restores_weights_only(tmp_path):
    first = Runner(**runner_kwargs(tmp_path, 'src'))
    first.train()
    src = osp.join(first.work_dir, 'epoch_2.pth')
    second = Runner(**runner_kwargs(
        tmp_path, 'dst', load_from=src,
        train_cfg=dict(by_epoch=True, max_epochs=1)))
    metrics = second.val()
    assert torch.equal(params(second.model)['linear.weight'],
                       params(first.model)['linear.weight'])
    assert metrics['toy/mae'] == pytest.approx(first.val()['toy/mae'])
    assert second.epoch == 0  # weights only, no training state


def test_param_scheduler_and_checkpoint_max_keep(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'sched',
        train_cfg=dict(by_epoch=True, max_epochs=4),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], gamma=0.1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1, max_keep_ckpts=2))))
    runner.train()
    files = sorted(f for f in os.listdir(runner.work_dir)
                   if f.endswith('.pth'))
    assert files == ['epoch_3.pth', 'epoch_4.pth']
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(0.005)
    ckpt = load_checkpoint_file(osp.join(runner.work_dir, 'epoch_4.pth'))
    assert ckpt['message_hub']['runtime_info']['keep_ckpt_ids'] == [3, 4]
    assert len(ckpt['param_schedulers']) == 1


def test_save_best_keeps_one_best_file(tmp_path):
    runner = Runner(**runner_kwargs(
        tmp_path, 'best', train_cfg=dict(by_epoch=True, max_epochs=3),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1,
                                           save_best='toy/mae',
                                           rule='less'))))
    runner.train()
    best = [f for f in os.listdir(runner.work_dir) if f.startswith('best')]
    assert len(best) == 1 and best[0].startswith('best_toy_mae_epoch_')
    assert runner.message_hub.get_info('best_score') is not None


class _NoTrainStep(torch.nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize('overrides, error, message', [
    (dict(train_dataloader=None), ValueError, 'train_dataloader'),
    (dict(val_evaluator=None), ValueError, 'val_evaluator'),
    (dict(optim_wrapper=None, train_dataloader=None, train_cfg=None,
          param_scheduler=dict(type='StepLR', step_size=1)), ValueError,
     'optim_wrapper'),
    (dict(work_dir=3), TypeError, 'work_dir'),
    (dict(launcher='ssh'), ValueError, 'launcher'),
    (dict(resume='yes'), TypeError, 'resume'),
    (dict(custom_hooks=dict(type='EmptyCacheHook')), TypeError,
     'custom_hooks'),
    (dict(default_hooks=dict(logger=dict(type='LogerHook'))), KeyError,
     'LoggerHook'),
    (dict(custom_hooks=[42]), TypeError, 'hook'),
    (dict(param_scheduler=[dict(milestones=[1])]), ValueError, 'type'),
    (dict(model=42), TypeError, 'model'),
])
def test_bad_constructor_input(tmp_path, overrides, error, message):
    kwargs = runner_kwargs(tmp_path, 'bad')
    kwargs.update(overrides)
    with pytest.raises(error, match=message):
        Runner(**kwargs)


@pytest.mark.parametrize('train_cfg, error, message', [
    (dict(by_epoch=True), ValueError, 'max_epochs'),
    (dict(by_epoch=False, max_epochs=2), ValueError, 'max_iters'),
    (dict(), ValueError, 'max_epochs'),
    (dict(by_epoch=True, max_epochs=2.5), TypeError, 'max_epochs'),
    (dict(by_epoch=True, max_epochs=2, val_intervall=1), TypeError,
     'val_intervall'),
    (dict(type='EpochBasedTrainLop', max_epochs=1), KeyError,
     'EpochBasedTrainLoop'),
    ('epochs', TypeError, 'train_cfg'),
])
def test_bad_train_cfg_is_reported_when_training(tmp_path, train_cfg, error,
                                                 message):
    runner = Runner(**runner_kwargs(tmp_path, 'badcfg', train_cfg=train_cfg))
    with pytest.raises(error, match=message):
        runner.train()


def test_missing_parts_for_a_stage(tmp_path):
    runner = Runner(model=ToyModel(), work_dir=str(tmp_path / 'bare'),
                    experiment_name=unique('bare'), log_level='WARNING')
    for method in ('train', 'val', 'test'):
        with pytest.raises(RuntimeError, match=f'{method}_dataloader'):
            getattr(runner, method)()


def test_model_without_train_step(tmp_path):
    runner = Runner(**runner_kwargs(tmp_path, 'nostep',
                                    model=_NoTrainStep(),
                                    val_dataloader=None, val_cfg=None,
                                    val_evaluator=None))
    with pytest.raises(TypeError, match='train_step'):
        runner.train()


def test_seed_gives_same_model_and_data_order(tmp_path):
    def run(name):
        kwargs = runner_kwargs(tmp_path, name,
                               model=dict(type=ToyModel, dropout=0.5),
                               train_dataloader=loader(shuffle=True),
                               randomness=dict(seed=123))
        runner = Runner(**kwargs)
        runner.train()
        return params(runner.model)

    first, second = run('s1'), run('s2')
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_scalar_log_is_the_same_whether_lines_are_shown_or_not(tmp_path):
    """With log_level WARNING the logger hook skips formatting the train
    lines nobody sees; the JSON scalar records must not change."""
    logs = {}
    for level in ('INFO', 'WARNING'):
        torch.manual_seed(0)
        runner = Runner(**runner_kwargs(tmp_path / level, f'lv_{level}',
                                        log_level=level))
        runner.train()
        logs[level] = _scalar_log(runner)
    for shown, hidden in zip(logs['INFO'], logs['WARNING'], strict=True):
        assert list(shown) == list(hidden)  # same keys, same order
        for key in ('time', 'data_time'):  # clock readings
            shown.pop(key, None)
            hidden.pop(key, None)
        assert shown == hidden


def test_scalar_log_is_on_disk_at_each_epoch_end(tmp_path):
    """The scalar lines are buffered between flushes; an epoch end pushes
    them to the file, so a crash in the next epoch loses none of them."""
    seen = []

    class ReadLog(Hook):
        priority = 'LOWEST'

        def after_train_epoch(self, runner):
            seen.append(len(_scalar_log(runner)))

    runner = Runner(**runner_kwargs(tmp_path, 'flush',
                                    custom_hooks=[ReadLog()]))
    runner.train()
    assert seen == [2, 5]  # two train lines per epoch, one val line


def test_a_log_processor_subclass_makes_its_line_even_when_it_is_dropped(
        tmp_path):
    """The tag-only shortcut is for the stock LogProcessor: a subclass that
    overrides get_log_after_iter is called as before, whatever the level."""
    from engine.logging import LogProcessor
    calls = []

    class Counting(LogProcessor):
        def get_log_after_iter(self, runner, batch_idx, mode):
            calls.append(mode)
            return super().get_log_after_iter(runner, batch_idx, mode)

    runner = Runner(**runner_kwargs(tmp_path, 'lp_sub', log_level='WARNING',
                                    log_processor=Counting()))
    runner.train()
    train_lines = [r for r in _scalar_log(runner) if 'lr' in r]
    assert calls.count('train') == len(train_lines) == 4


def test_scalar_log_is_on_disk_when_an_exception_stops_training(tmp_path):
    """Lines are buffered between flushes; training stopped by an exception
    mid-epoch (no epoch end, no after_run) still leaves every line logged
    before it in the file."""

    class Boom(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter == 6:  # after the line of iteration 6
                raise RuntimeError('boom')

    runner = Runner(**runner_kwargs(tmp_path, 'boom', custom_hooks=[Boom()]))
    with pytest.raises(RuntimeError, match='boom'):
        runner.train()
    train_steps = [r['step'] for r in _scalar_log(runner) if 'lr' in r]
    assert train_steps == [2, 4, 6]  # 6: in the buffer when it was raised
