"""EpochBasedRunner the way an mmcv user drives it: state seen by hooks,
workflows, hook registration, and clear errors for bad input."""
import logging
import time
import warnings

import pytest
import torch
import torch.nn as nn

import legacy
from legacy_scenarios import RegressionModel, regression_loader


def make_runner(logger, tmp_path, model=None, **kwargs):
    model = model or RegressionModel()
    optimizer = kwargs.pop(
        'optimizer', torch.optim.SGD(model.parameters(), lr=0.1))
    kwargs.setdefault('max_epochs', 2)
    return legacy.EpochBasedRunner(
        model, optimizer=optimizer, work_dir=str(tmp_path), logger=logger,
        **kwargs)


class Recorder(legacy.Hook):
    """Records what mmcv hooks see at each stage."""

    def __init__(self):
        self.events = []

    def before_run(self, runner):
        self.events.append(('before_run', runner.epoch, runner.iter))

    def before_train_epoch(self, runner):
        self.events.append(('before_train_epoch', runner.epoch, runner.iter,
                            runner.mode))

    def before_train_iter(self, runner):
        self.events.append(('before_train_iter', runner.epoch, runner.iter,
                            runner.inner_iter, hasattr(runner, 'data_batch')))

    def after_train_iter(self, runner):
        self.events.append(('after_train_iter', runner.iter,
                            sorted(runner.outputs), torch.is_grad_enabled()))

    def after_train_epoch(self, runner):
        self.events.append(('after_train_epoch', runner.epoch, runner.iter))

    def before_val_epoch(self, runner):
        self.events.append(('before_val_epoch', runner.epoch, runner.mode))

    def after_val_iter(self, runner):
        self.events.append(('after_val_iter', runner.inner_iter,
                            torch.is_grad_enabled()))

    def after_run(self, runner):
        self.events.append(('after_run', runner.epoch, runner.iter))


def test_counters_outputs_and_mode_follow_mmcv(logger, tmp_path):
    runner = make_runner(logger, tmp_path)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert recorder.events == [
        ('before_run', 0, 0),
        ('before_train_epoch', 0, 0, 'train'),
        ('before_train_iter', 0, 0, 0, True),
        ('after_train_iter', 0, ['log_vars', 'loss', 'num_samples'], True),
        ('before_train_iter', 0, 1, 1, True),
        ('after_train_iter', 1, ['log_vars', 'loss', 'num_samples'], True),
        ('after_train_epoch', 0, 2),
        ('before_train_epoch', 1, 2, 'train'),
        ('before_train_iter', 1, 2, 0, True),
        ('after_train_iter', 2, ['log_vars', 'loss', 'num_samples'], True),
        ('before_train_iter', 1, 3, 1, True),
        ('after_train_iter', 3, ['log_vars', 'loss', 'num_samples'], True),
        ('after_train_epoch', 1, 4),
        ('after_run', 2, 4),
    ]
    assert runner.max_iters == 4
    assert not hasattr(runner, 'data_batch')
    # only logger hooks clear the buffer (at each epoch start)
    assert runner.log_buffer.n_history['loss'] == [4, 4, 4, 4]


def test_train_val_workflow(logger, tmp_path):
    runner = make_runner(logger, tmp_path, max_epochs=2)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([regression_loader(8, 4), regression_loader(4, 2)],
               [('train', 1), ('val', 1)])
    stages = [e[0] for e in recorder.events]
    assert stages.count('after_train_epoch') == 2
    assert stages.count('before_val_epoch') == 2
    # validation comes after each train epoch, sees the advanced epoch and
    # runs without gradients
    first_val = stages.index('before_val_epoch')
    assert recorder.events[first_val] == ('before_val_epoch', 1, 'val')
    assert recorder.events[first_val + 1] == ('after_val_iter', 0, False)
    assert runner.outputs['log_vars'].keys() == {'val_loss'}


def test_no_sleep_at_epoch_transitions(logger, tmp_path, monkeypatch):

    def no_sleep(seconds):
        raise AssertionError(f'time.sleep({seconds}) called')

    monkeypatch.setattr(time, 'sleep', no_sleep)
    runner = make_runner(logger, tmp_path, max_epochs=3)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([regression_loader(8, 4), regression_loader(4, 2)],
               [('train', 1), ('val', 1)])
    assert runner.epoch == 3


def test_hooks_run_in_priority_order_with_generic_overrides(logger, tmp_path):
    calls = []

    class Generic(legacy.Hook):

        def __init__(self, name):
            self.name = name

        def before_epoch(self, runner):
            calls.append((self.name, 'before_epoch', runner.mode))

        def after_iter(self, runner):
            calls.append((self.name, 'after_iter', runner.mode))

    runner = make_runner(logger, tmp_path, max_epochs=1)
    runner.register_hook(Generic('low'), priority='LOW')
    runner.register_hook(Generic('normal-1'))
    runner.register_hook(Generic('normal-2'), priority=legacy.Priority.NORMAL)
    runner.register_hook(Generic('high'), priority=10)
    runner.run([regression_loader(4, 4), regression_loader(2, 2)],
               [('train', 1), ('val', 1)])
    order = ['high', 'normal-1', 'normal-2', 'low']
    assert calls == (
        [(n, 'before_epoch', 'train') for n in order] +
        [(n, 'after_iter', 'train') for n in order] +
        [(n, 'before_epoch', 'val') for n in order] +
        [(n, 'after_iter', 'val') for n in order])
    assert [h.priority for h in runner.hooks] == [10, 50, 50, 70]
    assert Generic('x').get_triggered_stages() == [
        'before_train_epoch', 'after_train_iter', 'before_val_epoch',
        'after_val_iter'
    ]


def test_hook_info_lists_stages_like_mmcv(logger, tmp_path):
    runner = make_runner(logger, tmp_path)
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[1]), optimizer_config=dict())
    info = runner.get_hook_info()
    assert info.startswith('before_run:\n(VERY_HIGH   ) StepLrUpdaterHook')
    assert ('after_train_iter:\n(ABOVE_NORMAL) OptimizerHook' +
            ' ' * 22 + '\n(LOW         ) IterTimerHook') in info
    assert info.endswith(' -------------------- ')


def test_register_training_hooks_leaves_configs_untouched(logger, tmp_path):
    lr_config = dict(policy='step', step=[1])
    log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    runner = make_runner(logger, tmp_path)
    runner.register_training_hooks(
        lr_config=lr_config, log_config=log_config,
        checkpoint_config=dict(interval=1),
        custom_hooks_config=[dict(type='EmptyCacheHook', priority='LOWEST')])
    assert lr_config == dict(policy='step', step=[1])
    assert log_config == dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    assert [type(h).__name__ for h in runner.hooks] == [
        'StepLrUpdaterHook', 'CheckpointHook', 'IterTimerHook',
        'TextLoggerHook', 'EmptyCacheHook'
    ]


def test_user_subclass_of_optimizer_hook_is_run(logger, tmp_path):
    seen = []

    class MyOptimizerHook(legacy.OptimizerHook):

        def after_train_iter(self, runner):
            seen.append(runner.iter)
            runner.optimizer.zero_grad()
            (runner.outputs['loss'] * 0).backward()
            runner.optimizer.step()

    model = RegressionModel()
    before = [p.detach().clone() for p in model.parameters()]
    runner = make_runner(logger, tmp_path, model=model, max_epochs=1)
    runner.register_training_hooks(
        lr_config=None, optimizer_config=MyOptimizerHook())
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert seen == [0, 1]
    # the override replaced the update: a zero loss leaves SGD's weights be
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b)


def test_self_optimizing_model_gets_the_real_optimizers(logger, tmp_path):
    from legacy_scenarios import TwoOptimizerModel
    model = TwoOptimizerModel()
    optimizers = dict(
        gen=torch.optim.SGD(model.gen.parameters(), lr=0.1),
        disc=torch.optim.SGD(model.disc.parameters(), lr=0.1))
    received = []
    step = model.train_step

    def train_step(data, optimizer):
        received.append(optimizer)
        return step(data, optimizer)

    model.train_step = train_step
    runner = make_runner(logger, tmp_path, model=model, optimizer=optimizers,
                         max_epochs=1)
    runner.register_training_hooks(lr_config=dict(policy='fixed'))
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert all(o is optimizers for o in received)
    assert runner.current_lr() == dict(gen=[0.1], disc=[0.1])
    assert runner.current_momentum() == dict(gen=[0], disc=[0])


def test_current_lr_and_momentum(logger, tmp_path):
    model = RegressionModel()
    runner = make_runner(
        logger, tmp_path, model=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01,
                                   betas=(0.8, 0.9)))
    assert runner.current_lr() == [0.01]
    assert runner.current_momentum() == [0.8]
    runner.optimizer = None
    with pytest.raises(RuntimeError, match='no optimizer'):
        runner.current_lr()


def test_batch_processor(logger, tmp_path):

    class Plain(nn.Module):

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 1)

    def batch_processor(model, data, train_mode):
        x, y = data
        loss = ((model.linear(x) - y)**2).mean()
        return dict(loss=loss, log_vars=dict(loss=loss.item()),
                    num_samples=len(x))

    model = Plain()
    with pytest.warns(DeprecationWarning, match='batch_processor'):
        runner = legacy.EpochBasedRunner(
            model, batch_processor=batch_processor,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            logger=logger, max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert runner.iter == 2


def test_runner_is_deprecated_name_and_build_runner(logger, tmp_path):
    model = RegressionModel()
    with pytest.warns(DeprecationWarning, match='EpochBasedRunner'):
        runner = legacy.Runner(model, logger=logger, max_epochs=1)
    assert isinstance(runner, legacy.EpochBasedRunner)
    built = legacy.build_runner(
        dict(type='IterBasedRunner', max_iters=3),
        default_args=dict(model=model, logger=logger,
                          work_dir=str(tmp_path)))
    assert isinstance(built, legacy.IterBasedRunner)
    assert built.max_iters == 3 and built.model_name == 'RegressionModel'


# ----------------------------------------------------------- bad input
def test_train_step_returning_non_dict_is_a_clear_error(logger, tmp_path):

    class Bad(RegressionModel):

        def train_step(self, data, optimizer=None):
            return super().train_step(data)['loss']

    runner = make_runner(logger, tmp_path, model=Bad())
    with pytest.raises(TypeError, match=r'Bad\.train_step\(\) returned '
                       r'Tensor'):
        runner.run([regression_loader(8, 4)], [('train', 1)])


def test_missing_loss_with_an_optimizer_hook_is_a_clear_error(
        logger, tmp_path):

    class NoLoss(RegressionModel):

        def train_step(self, data, optimizer=None):
            outputs = super().train_step(data)
            del outputs['loss']
            return outputs

    runner = make_runner(logger, tmp_path, model=NoLoss())
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    with pytest.raises(KeyError) as info:
        runner.run([regression_loader(8, 4)], [('train', 1)])
    message = str(info.value)
    assert 'NoLoss.train_step() returned a dict without "loss"' in message
    assert "['log_vars', 'num_samples']" in message
    assert 'optimizer_config=None' in message


def test_log_vars_without_num_samples_is_a_clear_error(logger, tmp_path):

    class NoCount(RegressionModel):

        def train_step(self, data, optimizer=None):
            outputs = super().train_step(data)
            del outputs['num_samples']
            return outputs

    runner = make_runner(logger, tmp_path, model=NoCount())
    with pytest.raises(KeyError, match='without "num_samples"'):
        runner.run([regression_loader(8, 4)], [('train', 1)])


def test_workflow_naming_a_mode_the_model_lacks_fails_before_running(
        logger, tmp_path):

    class TrainOnly(nn.Module):

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 1)

        def train_step(self, data, optimizer=None):
            return RegressionModel.train_step(self, data)

    recorder = Recorder()
    runner = make_runner(logger, tmp_path, model=TrainOnly())
    runner.register_hook(recorder)
    with pytest.raises(ValueError,
                       match=r"'val' phase but TrainOnly has no val_step"):
        runner.run([regression_loader(8, 4)] * 2, [('train', 1), ('val', 1)])
    with pytest.raises(ValueError, match='no method named "test"'):
        runner.run([regression_loader(8, 4)], [('test', 1)])
    assert recorder.events == []


def test_bad_workflow_shapes(logger, tmp_path):
    runner = make_runner(logger, tmp_path)
    with pytest.raises(ValueError, match='one loader per phase'):
        runner.run([regression_loader()], [('train', 1), ('val', 1)])
    with pytest.raises(TypeError, match='list of'):
        runner.run([regression_loader()], [['train', 1]])
    with pytest.raises(ValueError, match='never end'):
        runner.run([regression_loader()], [('val', 1)])


def test_max_epochs_and_max_iters_both_given(logger):
    with pytest.raises(ValueError, match='max_epochs=2 and max_iters=5'):
        legacy.EpochBasedRunner(
            RegressionModel(), logger=logger, max_epochs=2, max_iters=5)


def test_constructor_type_errors(logger, tmp_path):
    model = RegressionModel()
    with pytest.raises(TypeError, match='logging.Logger'):
        legacy.EpochBasedRunner(model, logger=None)
    with pytest.raises(TypeError, match=r'optimizer\["a"\] is a str'):
        legacy.EpochBasedRunner(model, optimizer=dict(a='sgd'),
                                logger=logger)
    with pytest.raises(TypeError, match='no train_step'):
        legacy.EpochBasedRunner(nn.Linear(1, 1), logger=logger)
    with pytest.raises(TypeError, match='meta must be a dict'):
        legacy.EpochBasedRunner(model, logger=logger, meta=[1])


def test_unknown_hook_and_policy_names(logger, tmp_path):
    runner = make_runner(logger, tmp_path)
    with pytest.raises(KeyError, match='TextLoggerHook'):
        runner.register_hook_from_cfg(dict(type='TextLogerHook'))
    with pytest.raises(KeyError,
                       match="'StepsLrUpdaterHook'.*StepLrUpdaterHook"):
        runner.register_training_hooks(lr_config=dict(policy='steps'))
    with pytest.raises(KeyError, match='needs a "policy"'):
        runner.register_training_hooks(lr_config=dict(step=[1]))
    with pytest.raises(KeyError, match='CosineAnnealingMomentumUpdaterHook'):
        runner.register_momentum_hook(dict(policy='Cosine'))


def test_register_hook_checks(logger, tmp_path):
    runner = make_runner(logger, tmp_path)
    with pytest.raises(TypeError, match='legacy Hook instance'):
        runner.register_hook(object())
    hook = legacy.IterTimerHook()
    runner.register_hook(hook)
    with pytest.raises(ValueError, match='reserved'):
        runner.register_hook(hook)
    with pytest.raises(ValueError, match='between 0 and 100'):
        runner.register_hook(legacy.IterTimerHook(), priority=101)


def test_start_of_run_is_logged(tmp_path, caplog):
    logger = legacy.get_logger('legacy-test-start-log')
    runner = make_runner(logger, tmp_path, max_epochs=1)
    with caplog.at_level(logging.INFO, logger='legacy-test-start-log'):
        runner.run([regression_loader(4, 4)], [('train', 1)])
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith('Start running, host: ')
    assert messages[0].endswith(f'work_dir: {tmp_path}')
    assert messages[2] == "workflow: [('train', 1)], max: 1 epochs"


def test_run_max_epochs_argument_is_deprecated(logger, tmp_path):
    runner = make_runner(logger, tmp_path, max_epochs=None)
    with pytest.raises(ValueError, match='max_epochs must be given'):
        runner.run([regression_loader(4, 4)], [('train', 1)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner.run([regression_loader(4, 4)], [('train', 1)], max_epochs=1)
    assert any('deprecated' in str(w.message) for w in caught)
    assert runner.epoch == 1
