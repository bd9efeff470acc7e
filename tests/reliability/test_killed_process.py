"""SIGKILL in the middle of training, then resume: nothing completed is lost
and the resumed run ends bitwise where an uninterrupted one ends.

Each job (``child_train.py``) trains with dropout on shuffled data, so the
generator states, the sampler and the data position must all be restored
for the parameters to match. It is killed after iteration N, with at least
one checkpoint written before, and resumed the way users resume: the engine
with ``resume=True`` (``last_checkpoint``), the legacy runners from
``latest.pth``.
"""
import os
import os.path as osp
import signal

import pytest

import child_train
from engine.runner import load_checkpoint_file
from reliability_helpers import (assert_bitwise_equal, file_bytes, finish,
                                 load_params, read, start_job, temp_files,
                                 unique, wait_for_file)

# after which iteration each job is killed, and the checkpoint it must
# resume from (5 iterations per epoch; iteration-based jobs save every 3)
KILL_POINTS = {
    'engine-epoch': (7, 'epoch_1.pth'),
    'engine-iter': (8, 'iter_6.pth'),
    'legacy-epoch': (13, 'epoch_2.pth'),
    'legacy-iter': (11, 'iter_9.pth'),
}


def resume_pointer(work_dir: str) -> str:
    """The checkpoint a resume would pick: engine ``last_checkpoint``, mmcv
    ``latest.pth``."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(pointer):
        return osp.basename(read(pointer).strip())
    return os.readlink(osp.join(work_dir, 'latest.pth'))


def run_killed_and_resumed(tmp_path, api: str, pause_at: int,
                           pause: str = 'kill') -> dict:
    """The job straight and killed (side by side), then the killed one
    resumed; what each left."""
    straight_dir, cut_dir = str(tmp_path / 'straight'), str(tmp_path / 'cut')
    straight = start_job(api, straight_dir, str(tmp_path / 'straight.err'),
                         out=str(tmp_path / 'straight.pt'))
    cut = start_job(api, cut_dir, str(tmp_path / 'cut.err'),
                    pause_at=pause_at, pause=pause)
    wait_for_file(osp.join(cut_dir, 'paused'), cut)
    os.kill(cut.pid, signal.SIGKILL)
    assert finish(cut) == -signal.SIGKILL
    after_kill = dict(files=file_bytes(cut_dir), temp=temp_files(cut_dir),
                      pointer=resume_pointer(cut_dir))
    resumed = start_job(api, cut_dir, str(tmp_path / 'resumed.err'),
                        resume=True, out=str(tmp_path / 'resumed.pt'))
    assert finish(straight) == 0
    assert finish(resumed) == 0, read(str(tmp_path / 'resumed.err'))
    return dict(after_kill,
                straight=load_params(str(tmp_path / 'straight.pt')),
                resumed=load_params(str(tmp_path / 'resumed.pt')),
                cut_dir=cut_dir)


def assert_nothing_completed_lost(result: dict, last_complete: str) -> None:
    """The resume pointer named the last completed checkpoint, which loads,
    and no checkpoint written before the kill was changed or removed."""
    assert result['pointer'] == last_complete
    files = {n: b for n, b in result['files'].items() if n != 'latest.pth'}
    assert last_complete in files
    for name, content in files.items():
        with open(osp.join(result['cut_dir'], name), 'rb') as f:
            assert f.read() == content, f'{name} changed'
        load_checkpoint_file(osp.join(result['cut_dir'], name))


@pytest.mark.parametrize('api', sorted(KILL_POINTS))
def test_sigkill_mid_training_then_resume_is_bitwise_equal(tmp_path, api):
    pause_at, last_complete = KILL_POINTS[api]
    result = run_killed_and_resumed(tmp_path, api, pause_at)
    assert_nothing_completed_lost(result, last_complete)
    meta = load_checkpoint_file(
        osp.join(result['cut_dir'], last_complete))['meta']
    assert meta['iter'] < pause_at  # work after it was lost, nothing else
    assert_bitwise_equal(result['straight'], result['resumed'])


def test_sigkill_while_writing_a_checkpoint(tmp_path):
    """Killed half-way through writing epoch 2's checkpoint: the partial
    data sits in a temporary file, never under the checkpoint's name; the
    pointer still names epoch 1, from which the run resumes exactly; the
    resumed run removes the orphaned temporary file."""
    result = run_killed_and_resumed(tmp_path, 'engine-epoch', 2,
                                    pause='save')
    assert 'epoch_2.pth' not in result['files']
    assert len(result['temp']) == 1
    assert result['temp'][0].startswith('.epoch_2.pth.')
    assert_nothing_completed_lost(result, 'epoch_1.pth')
    assert temp_files(result['cut_dir']) == []
    assert 'left by a save that was interrupted' in ''.join(
        read(osp.join(root, name))
        for root, _, names in os.walk(result['cut_dir'])
        for name in names if name.endswith('.log'))
    assert_bitwise_equal(result['straight'], result['resumed'])


@pytest.mark.parametrize('workflow, warned', [
    ([('train', 1)], False), ([('train', 1), ('val', 1)], True)])
def test_legacy_resume_says_when_it_cannot_be_exact(tmp_path, caplog,
                                                    workflow, warned):
    """A validation after an epoch-end checkpoint drew random numbers that a
    resumed mmcv workflow (which starts with the next training epoch) does
    not draw again: the resume says so instead of silently differing."""
    loaders = [child_train.loader() for _ in workflow]
    first = child_train.legacy_runner(str(tmp_path), name=unique('warn'))
    first._max_epochs = 1
    first.run(loaders, workflow)
    resumed = child_train.legacy_runner(str(tmp_path), name=unique('warn'))
    resumed.resume(str(tmp_path / 'epoch_1.pth'))
    resumed.run(loaders, workflow)
    assert ("the 'val' workflow phase" in caplog.text) == warned
