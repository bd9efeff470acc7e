"""NaN and infinite losses. By default training stops with an error naming
the first bad iteration and its loss values, before any checkpoint is
written from the damaged weights, so the last checkpoint is still good and
resumes exactly. Opt-in skip mode drops those updates instead. Dynamic loss
scaling skips overflowing steps, and says how many."""
import glob
import os.path as osp

import pytest
import torch

import child_train
import legacy
from engine.hooks import Hook
from engine.model import NonFiniteLossError
from engine.runner import load_checkpoint_file
from reliability_helpers import assert_bitwise_equal, unique
from test_killed_process import resume_pointer


class Poison(Hook):
    """Multiplies the loss of the given (1-based) iterations by ``value``,
    and records the parameters after every iteration."""

    priority = 'LOWEST'

    def __init__(self, at=(), value=float('nan')):
        self.at, self.value = set(at), value
        self.params = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        runner.model.poison = self.value if runner.iter + 1 in self.at \
            else None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.params[runner.iter + 1] = {
            k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


class LegacyPoison(legacy.Hook):

    def __init__(self, at=(), value=float('nan')):
        self.at, self.value = set(at), value
        self.params = {}

    def before_train_iter(self, runner):
        runner.model.poison = self.value if runner.iter + 1 in self.at \
            else None

    def after_train_iter(self, runner):
        self.params[runner.iter + 1] = {
            k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


def engine_runner(work_dir, poison, by_epoch=True, **kwargs):
    return child_train.engine_runner(str(work_dir), by_epoch,
                                     name=unique('nan'),
                                     custom_hooks=[poison], **kwargs)


def log_text(runner) -> str:
    return ''.join(open(p).read()
                   for p in glob.glob(osp.join(runner.log_dir, '*.log')))


def final(runner):
    return {k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


@pytest.mark.parametrize('value, shown', [(float('nan'), 'loss=nan'),
                                          (float('inf'), 'loss=inf')])
def test_engine_stops_naming_the_iteration_and_keeps_the_checkpoint(
        tmp_path, value, shown):
    runner = engine_runner(tmp_path / 'run', Poison(at=[7], value=value))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    assert info.value.iteration == 7
    assert str(info.value).startswith(f'Non-finite loss at iteration 7: '
                                      f'{shown}. Training stopped')
    # noticed at the next check, the end of epoch 2, before its checkpoint
    assert runner.iter == 10
    assert not osp.exists(osp.join(runner.work_dir, 'epoch_2.pth'))
    assert resume_pointer(runner.work_dir) == 'epoch_1.pth'
    weights = load_checkpoint_file(
        osp.join(runner.work_dir, 'epoch_1.pth'))['state_dict']
    assert all(bool(torch.isfinite(w).all()) for w in weights.values())

    # the good checkpoint resumes to the result of a run that never failed
    straight = engine_runner(tmp_path / 'straight', Poison())
    straight.train()
    resumed = engine_runner(tmp_path / 'run', Poison(), resume=True)
    resumed.train()
    assert_bitwise_equal(final(straight), final(resumed))


def test_engine_never_saves_weights_trained_on_a_nan(tmp_path):
    """With a check interval longer than the checkpoint interval, the check
    before saving is what stops the run."""
    runner = engine_runner(
        tmp_path / 'run', Poison(at=[5]), by_epoch=False,
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=3),
            nonfinite_loss=dict(type='NonFiniteLossHook', interval=100)))
    with pytest.raises(NonFiniteLossError, match='iteration 5'):
        runner.train()
    assert runner.iter == 5  # stopped while saving iteration 6
    assert not osp.exists(osp.join(runner.work_dir, 'iter_6.pth'))
    assert resume_pointer(runner.work_dir) == 'iter_3.pth'


@pytest.mark.parametrize('how', ['hook', 'optim_wrapper'])
def test_engine_skip_mode_leaves_the_parameters_unchanged(tmp_path, how):
    poison = Poison(at=[7, 8])
    if how == 'hook':
        kwargs = dict(default_hooks=dict(nonfinite_loss=dict(
            type='NonFiniteLossHook', action='skip')))
    else:
        kwargs = dict(optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
            skip_nonfinite_loss=True))
    runner = engine_runner(tmp_path / 'run', poison, **kwargs)
    runner.train()
    assert runner.iter == 20
    assert_bitwise_equal(poison.params[6], poison.params[7])
    assert_bitwise_equal(poison.params[6], poison.params[8])
    assert not torch.equal(poison.params[8]['linear.weight'],
                           poison.params[9]['linear.weight'])
    assert all(bool(torch.isfinite(w).all()) for w in final(runner).values())
    assert 'Skipped the update of 2 iteration(s) with a non-finite loss ' \
        '(iterations [7, 8])' in log_text(runner)


def test_engine_dynamic_loss_scaling_skips_and_logs_the_count(tmp_path):
    runner = engine_runner(
        tmp_path / 'run', Poison(), log_level='INFO',
        optim_wrapper=dict(type='AmpOptimWrapper',
                           loss_scale=dict(init_scale=2.**127),
                           optimizer=dict(type='SGD', lr=0.05)))
    runner.train()
    skipped = runner.optim_wrapper.skipped_steps
    assert skipped > 0
    log = log_text(runner)
    assert f'Loss scaling skipped {skipped} optimizer step(s) with inf/NaN ' \
        f'gradients since the last check ({skipped} in all)' in log
    assert all(bool(torch.isfinite(w).all()) for w in final(runner).values())


# ------------------------------------------------------------------ legacy
def legacy_run(work_dir, poison, optimizer_config=None, logger_level=None):
    runner = child_train.legacy_runner(str(work_dir), name=unique('nan'),
                                       hooks=[poison],
                                       optimizer_config=optimizer_config)
    if logger_level is not None:
        runner.logger.setLevel(logger_level)
    runner.run([child_train.loader()], child_train.legacy_workflow())
    return runner


def test_legacy_stops_naming_the_iteration_and_keeps_the_checkpoint(
        tmp_path):
    with pytest.raises(NonFiniteLossError) as info:
        legacy_run(tmp_path / 'run', LegacyPoison(at=[7]))
    assert str(info.value).startswith(
        'Non-finite loss at iteration 7 of epoch 2: loss=nan')
    work_dir = str(tmp_path / 'run')
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    assert resume_pointer(work_dir) == 'epoch_1.pth'

    straight = legacy_run(tmp_path / 'straight', LegacyPoison())
    resumed = child_train.legacy_runner(work_dir, name=unique('nan'))
    resumed.resume(osp.join(work_dir, 'latest.pth'))
    resumed.run([child_train.loader()], child_train.legacy_workflow())
    assert_bitwise_equal(final(straight), final(resumed))


def test_legacy_skip_mode_and_mmcv_mode(tmp_path, caplog):
    poison = LegacyPoison(at=[7])
    runner = legacy_run(tmp_path / 'skip', poison, optimizer_config=dict(
        grad_clip=None, nonfinite_loss='skip'))
    assert_bitwise_equal(poison.params[6], poison.params[7])
    assert all(bool(torch.isfinite(w).all()) for w in final(runner).values())
    assert 'Skipped the update of iteration 7: its loss is not finite' in \
        caplog.text

    mmcv_like = legacy_run(tmp_path / 'off', LegacyPoison(at=[7]),
                           optimizer_config=dict(grad_clip=None,
                                                 nonfinite_loss=None))
    assert not all(bool(torch.isfinite(w).all())
                   for w in final(mmcv_like).values())


def test_legacy_dynamic_loss_scaling_logs_the_skipped_steps(tmp_path, caplog):
    runner = legacy_run(
        tmp_path / 'fp16', LegacyPoison(), logger_level='INFO',
        optimizer_config=dict(type='Fp16OptimizerHook',
                              loss_scale=dict(init_scale=2.**127)))
    hook = next(h for h in runner.hooks
                if isinstance(h, legacy.Fp16OptimizerHook))
    skipped = hook.optim_wrapper.skipped_steps
    assert skipped > 0
    assert f'Loss scaling skipped {skipped} optimizer step(s) with inf/NaN ' \
        f'gradients ({skipped} in all)' in caplog.text


@pytest.mark.parametrize('values, finite', [
    ([1.0, 2.0], True),
    ([1e308, 1e308], True),  # the sum overflows; the values are finite
    ([1e308, float('inf')], False),
    ([float('-inf'), float('inf')], False),  # the sum is NaN
    ([0.5, float('nan')], False),
    ([], True),
])
def test_all_finite_reads_cpu_scalars_and_survives_an_overflowing_sum(
        values, finite):
    from engine.hooks.nonfinite_loss_hook import all_finite
    tensors = [torch.tensor(v, dtype=torch.float64) for v in values]
    assert all_finite(tensors) is finite
    # the same values as one-element vectors take the batched path
    assert all_finite([t.reshape(1, 1).expand(1, 2) for t in tensors]) \
        is finite
