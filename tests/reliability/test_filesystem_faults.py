"""Failing file-system writes while saving: a full disk at the final rename,
a read-only directory, an error in the middle of ``torch.save``, a failing
update of the resume pointer. Each time the user gets an error naming the
file and the cause, the previous checkpoint is intact and is still the one
the resume pointer names, no temporary file is left behind, and resuming
from it finishes exactly like an uninterrupted run."""
import errno
import os
import os.path as osp
import tempfile

import pytest
import torch

import child_train
import legacy
from engine.runner import CheckpointSaveError, load_checkpoint_file
from reliability_helpers import (assert_bitwise_equal, file_bytes, temp_files,
                                 unique)
from test_killed_process import resume_pointer


def params(model):
    model = getattr(model, 'module', model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fail_replace(monkeypatch, suffix, code=errno.ENOSPC):
    """``os.replace`` onto a path ending in ``suffix`` fails with ``code``."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith(suffix):
            raise OSError(code, os.strerror(code))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, 'replace', replace)


def fail_inside_torch_save(monkeypatch, epoch):
    """``torch.save`` of epoch ``epoch``'s checkpoint writes part of it, then
    fails (an I/O error half-way)."""
    real = torch.save

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get('meta', {}).get('epoch') == \
                epoch and hasattr(f, 'write'):
            f.write(b'PK\x03\x04 partial')
            raise RuntimeError('simulated I/O error while writing')
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', save)


def make_read_only(monkeypatch, directory):
    """Make ``directory`` refuse new files: by its permissions, or (as root,
    whom permissions do not stop) by failing file creation there with
    EROFS, as a read-only mount would."""
    os.chmod(directory, 0o555)
    probe = osp.join(directory, 'probe')
    try:
        open(probe, 'w').close()
    except PermissionError:
        return
    os.remove(probe)
    os.chmod(directory, 0o755)
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and osp.samefile(dir, directory):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, 'mkstemp', mkstemp)


# ------------------------------------------------------------------ engine
def engine_runner(work_dir, **kwargs):
    return child_train.engine_runner(
        str(work_dir), name=unique('fs'),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                           max_keep_ckpts=1),
                           logger=dict(type='LoggerHook', interval=2)),
        **kwargs)


@pytest.fixture(scope='module')
def engine_straight(tmp_path_factory):
    runner = engine_runner(tmp_path_factory.mktemp('straight'))
    runner.train()
    return params(runner.model)


def break_after_epoch_one(runner, action):
    """Run ``action()`` once epoch 1's checkpoint is complete."""
    from engine.hooks import Hook

    class Break(Hook):
        priority = 'LOWEST'

        def after_train_epoch(self, runner):
            if runner.epoch == 0:
                action()

    runner.register_hook(Break())


def assert_engine_state_kept(work_dir, error, failed_file, cause):
    """The error names file and cause; epoch 1 survived and is what a resume
    picks; nothing temporary is left."""
    text = str(error.value)
    assert failed_file in text and cause in text, text
    assert resume_pointer(str(work_dir)) == 'epoch_1.pth'
    checkpoint = load_checkpoint_file(osp.join(work_dir, 'epoch_1.pth'))
    assert checkpoint['meta']['epoch'] == 1
    assert temp_files(str(work_dir)) == []


def resume_and_compare(work_dir, straight):
    runner = engine_runner(work_dir, resume=True)
    runner.train()
    assert_bitwise_equal(straight, params(runner.model))


@pytest.mark.parametrize('fault', ['disk_full', 'read_only', 'torch_save'])
def test_engine_failed_save_keeps_the_previous_checkpoint(
        tmp_path, monkeypatch, engine_straight, fault):
    work_dir = tmp_path / 'work'
    runner = engine_runner(work_dir)
    if fault == 'disk_full':
        fail_replace(monkeypatch, 'epoch_2.pth')
        cause = 'No space left on device'
    elif fault == 'read_only':
        break_after_epoch_one(
            runner, lambda: make_read_only(monkeypatch, str(work_dir)))
        cause = 'ermission denied' if os.geteuid() else \
            'Read-only file system'
    else:
        fail_inside_torch_save(monkeypatch, 2)
        cause = 'RuntimeError: simulated I/O error while writing'
    with pytest.raises(CheckpointSaveError) as error:
        runner.train()
    os.chmod(work_dir, 0o755)
    monkeypatch.undo()
    assert_engine_state_kept(work_dir, error,
                             osp.join(str(work_dir), 'epoch_2.pth'), cause)
    assert not osp.exists(work_dir / 'epoch_2.pth')
    resume_and_compare(work_dir, engine_straight)


def test_engine_failed_pointer_update_keeps_the_pointed_file(
        tmp_path, monkeypatch, engine_straight):
    """epoch_2.pth is complete, but the pointer could not be moved to it:
    the pointer still names epoch_1.pth, which max_keep_ckpts=1 must not
    have deleted."""
    work_dir = tmp_path / 'work'
    runner = engine_runner(work_dir)
    real = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith('last_checkpoint'):
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, 'replace', replace)
    with pytest.raises(CheckpointSaveError) as error:
        runner.train()
    monkeypatch.undo()
    assert_engine_state_kept(work_dir, error,
                             osp.join(str(work_dir), 'last_checkpoint'),
                             'Input/output error')
    load_checkpoint_file(osp.join(work_dir, 'epoch_2.pth'))  # complete too
    resume_and_compare(work_dir, engine_straight)


def test_engine_max_keep_ckpts_prunes_only_after_success(tmp_path):
    runner = engine_runner(tmp_path / 'work')
    runner.train()
    assert sorted(file_bytes(runner.work_dir)) == ['epoch_4.pth']


# ------------------------------------------------------------------ legacy
def legacy_runner(work_dir, name='legacy_fs'):
    return child_train.legacy_runner(
        str(work_dir), name=unique(name),
        checkpoint_config=dict(interval=1, max_keep_ckpts=1))


def legacy_run(runner):
    runner.run([child_train.loader()], child_train.legacy_workflow())


@pytest.fixture(scope='module')
def legacy_straight(tmp_path_factory):
    runner = legacy_runner(tmp_path_factory.mktemp('legacy_straight'))
    legacy_run(runner)
    return params(runner.model)


@pytest.mark.parametrize('fault', ['disk_full', 'torch_save', 'latest_link'])
def test_legacy_failed_save_keeps_the_previous_checkpoint(
        tmp_path, monkeypatch, legacy_straight, fault):
    work_dir = tmp_path / 'work'
    runner = legacy_runner(work_dir)
    if fault == 'disk_full':
        fail_replace(monkeypatch, 'epoch_2.pth')
        failed, cause = 'epoch_2.pth', 'No space left on device'
    elif fault == 'torch_save':
        fail_inside_torch_save(monkeypatch, 2)
        failed, cause = 'epoch_2.pth', 'simulated I/O error while writing'
    else:
        real = os.replace

        def replace(src, dst, *args, **kwargs):
            if str(dst).endswith('latest.pth') and \
                    osp.exists(osp.join(work_dir, 'epoch_2.pth')):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, 'replace', replace)
        failed, cause = 'latest.pth', 'No space left on device'
    with pytest.raises(CheckpointSaveError) as error:
        legacy_run(runner)
    monkeypatch.undo()
    assert osp.join(str(work_dir), failed) in str(error.value)
    assert cause in str(error.value)
    # epoch 1 survives (max_keep_ckpts=1 deletes only after a complete
    # save) and latest.pth still points at it
    assert resume_pointer(str(work_dir)) == 'epoch_1.pth'
    assert load_checkpoint_file(
        osp.join(work_dir, 'latest.pth'))['meta']['epoch'] == 1
    assert temp_files(str(work_dir)) == []

    resumed = legacy_runner(work_dir)
    resumed.resume(osp.join(work_dir, 'latest.pth'))
    legacy_run(resumed)
    assert_bitwise_equal(legacy_straight, params(resumed.model))


def test_legacy_save_checkpoint_function_is_atomic(tmp_path, monkeypatch):
    model = torch.nn.Linear(2, 1)
    path = str(tmp_path / 'model.pth')
    legacy.save_checkpoint(model, path)
    before = file_bytes(str(tmp_path))
    with torch.no_grad():
        model.weight.add_(1)
    fail_replace(monkeypatch, 'model.pth')
    with pytest.raises(CheckpointSaveError, match='model.pth') as error:
        legacy.save_checkpoint(model, path)
    assert 'No space left on device' in str(error.value)
    assert file_bytes(str(tmp_path)) == before
    assert temp_files(str(tmp_path)) == []
