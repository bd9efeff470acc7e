"""SIGINT/SIGTERM during training: the current iteration is finished, a
checkpoint of that point is saved, and training ends with a message naming
the signal, the iteration and the checkpoint; resuming from it equals the
uninterrupted run. Also: the handlers exist only while training, can be
turned off, and a second signal stops at once."""
import os
import os.path as osp
import signal
import threading

import pytest

import child_train
from engine.hooks import Hook
from engine.runner import CheckpointSaveError, load_checkpoint_file
from engine.runner.signals import TrainingInterrupted
from reliability_helpers import (assert_bitwise_equal, finish, load_params,
                                 read, start_job, unique, wait_for_file)
from test_killed_process import resume_pointer

CASES = [('engine-epoch', signal.SIGINT), ('engine-iter', signal.SIGTERM),
         ('legacy-epoch', signal.SIGTERM), ('legacy-iter', signal.SIGINT)]


@pytest.mark.parametrize('api, sig', CASES, ids=[f'{a}-{s.name}'
                                                 for a, s in CASES])
def test_signal_saves_a_checkpoint_and_resume_is_exact(tmp_path, capfd, api,
                                                       sig):
    straight_dir, cut_dir = str(tmp_path / 'straight'), str(tmp_path / 'cut')
    straight = start_job(api, straight_dir, str(tmp_path / 'straight.err'),
                         out=str(tmp_path / 'straight.pt'))
    cut = start_job(api, cut_dir, str(tmp_path / 'cut.err'), pause_at=7,
                    pause='signal')
    wait_for_file(osp.join(cut_dir, 'paused'), cut)
    os.kill(cut.pid, sig)  # arrives during iteration 7's hooks
    open(osp.join(cut_dir, 'signalled'), 'w').close()
    assert finish(cut) == 3  # ended by the exception below

    error = read(str(tmp_path / 'cut.err')).splitlines()[0]
    path = osp.join(cut_dir, 'iter_7.pth')
    assert error == (
        f'TrainingInterrupted: Training stopped by {sig.name} after '
        f'iteration 7 (epoch {1 if api == "engine-iter" else 2}); the '
        f'checkpoint {path} was saved. Resume from it to continue exactly '
        'where training stopped.')
    output = ''.join(capfd.readouterr())
    assert f'{sig.name} received: training stops after the current ' \
        'iteration' in output
    # the checkpoint is complete, and it is what a resume picks up
    assert resume_pointer(cut_dir) == 'iter_7.pth'
    meta = load_checkpoint_file(path)['meta']
    # mmcv's IterBasedRunner stores the index of the last iteration done
    assert meta['iter'] == (6 if api == 'legacy-iter' else 7)

    resumed = start_job(api, cut_dir, str(tmp_path / 'resumed.err'),
                        resume=True, out=str(tmp_path / 'resumed.pt'))
    assert finish(straight) == 0
    assert finish(resumed) == 0, read(str(tmp_path / 'resumed.err'))
    assert_bitwise_equal(load_params(str(tmp_path / 'straight.pt')),
                         load_params(str(tmp_path / 'resumed.pt')))


# ------------------------------------------------------------- in-process
class SendSignal(Hook):
    """Sends ``sig`` to this process after the given iterations (and notes
    which handler was installed while training)."""

    priority = 'LOWEST'

    def __init__(self, sig=signal.SIGUSR1, at=(3, ), stage='iter'):
        self.sig, self.at, self.stage = sig, at, stage
        self.handler_seen = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.handler_seen = signal.getsignal(self.sig)
        if self.stage == 'iter':
            for at in self.at:
                if runner.iter + 1 == at:
                    os.kill(os.getpid(), self.sig)

    def after_train(self, runner):
        if self.stage == 'after_train':
            os.kill(os.getpid(), self.sig)


def engine_runner(tmp_path, hook, stop_signals=('SIGUSR1', ), **kwargs):
    return child_train.engine_runner(
        str(tmp_path / 'work'), name=unique('signals'), custom_hooks=[hook],
        env_cfg=dict(stop_signals=stop_signals), **kwargs)


def test_engine_handlers_exist_only_while_training(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    hook = SendSignal(at=())
    engine_runner(tmp_path, hook).train()
    assert hook.handler_seen is not before
    assert signal.getsignal(signal.SIGUSR1) is before


def test_engine_stop_signals_none_installs_nothing(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    hook = SendSignal(at=())
    engine_runner(tmp_path, hook, stop_signals=None).train()
    assert hook.handler_seen is before


def test_engine_signal_in_process_and_handlers_restored(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    runner = engine_runner(tmp_path, SendSignal(at=(3, )))
    with pytest.raises(TrainingInterrupted) as info:
        runner.train()
    assert info.value.signal_name == 'SIGUSR1'
    assert info.value.checkpoint == osp.join(runner.work_dir, 'iter_3.pth')
    assert runner.iter == 3
    assert signal.getsignal(signal.SIGUSR1) is before


def test_a_second_signal_stops_at_once_without_a_checkpoint(tmp_path):
    runner = engine_runner(tmp_path, SendSignal(at=(2, 2)))
    with pytest.raises(KeyboardInterrupt) as info:
        runner.train()
    assert not isinstance(info.value, TrainingInterrupted)
    assert 'second time' in str(info.value)
    assert not osp.exists(osp.join(runner.work_dir, 'iter_2.pth'))


def test_signal_after_the_last_iteration_still_ends_the_run(tmp_path):
    runner = engine_runner(tmp_path, SendSignal(stage='after_train'))
    with pytest.raises(TrainingInterrupted,
                       match='after training had finished') as info:
        runner.train()
    assert info.value.checkpoint == osp.join(runner.work_dir, 'epoch_4.pth')


def test_failed_save_after_a_signal_says_so(tmp_path, monkeypatch):
    runner = engine_runner(tmp_path, SendSignal(at=(3, )))

    def no_space(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', no_space)
    with pytest.raises(TrainingInterrupted) as info:
        runner.train()
    assert info.value.checkpoint is None
    assert 'no checkpoint was written' in str(info.value)
    assert 'No space left on device' in str(info.value)
    assert isinstance(info.value.__cause__, CheckpointSaveError)


def test_no_handlers_outside_the_main_thread(tmp_path):
    before = signal.getsignal(signal.SIGUSR1)
    hook = SendSignal(at=())
    errors = []
    runner = engine_runner(tmp_path, hook)

    def train():
        try:
            runner.train()
        except BaseException as e:  # reported to the test thread
            errors.append(e)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join()
    assert errors == [] and hook.handler_seen is before


def test_legacy_signal_in_process_and_switch_off(tmp_path):
    import legacy

    class Send(legacy.Hook):
        def after_train_iter(self, runner):
            if runner.iter + 1 == 3:
                os.kill(os.getpid(), signal.SIGUSR1)

    runner = child_train.legacy_runner(str(tmp_path / 'on'),
                                       name=unique('legacy_sig'),
                                       hooks=[Send()])
    runner.stop_signals = ['SIGUSR1']
    before = signal.getsignal(signal.SIGUSR1)
    with pytest.raises(TrainingInterrupted, match='after iteration 3') as e:
        runner.run([child_train.loader()], child_train.legacy_workflow())
    assert e.value.checkpoint == osp.join(runner.work_dir, 'iter_3.pth')
    assert signal.getsignal(signal.SIGUSR1) is before

    seen = []

    class Look(legacy.Hook):
        def after_train_iter(self, runner):
            seen.append(signal.getsignal(signal.SIGUSR1))

    runner = child_train.legacy_runner(str(tmp_path / 'off'),
                                       name=unique('legacy_sig'),
                                       hooks=[Look()])
    runner.stop_signals = None
    runner.run([child_train.loader()], child_train.legacy_workflow())
    assert set(seen) == {before}


@pytest.mark.parametrize('value, error, text', [
    ('SIGNOPE', ValueError, "'SIGNOPE' is not a signal"),
    (['SIGKILL'], ValueError, 'SIGKILL cannot be caught'),
    (3.5, TypeError, 'got float: 3.5'),
    ([None], TypeError, 'holds NoneType'),
])
def test_bad_stop_signals_are_rejected(tmp_path, value, error, text):
    with pytest.raises(error, match='env_cfg\\["stop_signals"\\]') as info:
        engine_runner(tmp_path, SendSignal(), stop_signals=value)
    assert text in str(info.value)
