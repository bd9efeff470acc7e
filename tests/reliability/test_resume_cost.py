"""An iteration-based resume restores the data position without loading the
skipped batches: the sampler hands out index lists, the dataset is never
asked for their samples (mmengine loads and discards every skipped batch).
Timings against the number of skipped iterations are recorded, not
asserted (see docs/reliability.md)."""
import os.path as osp
import time

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import child_train
from engine.runner import load_checkpoint_file, save_checkpoint
from reliability_helpers import unique

SAMPLES, BATCH = 10_000, 2


class Counted(Dataset):
    """Cheap samples; counts every ``__getitem__``."""

    def __init__(self) -> None:
        self.x = torch.randn(SAMPLES, 3, generator=torch.Generator()
                             .manual_seed(0))
        self.loaded = 0

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, index):
        self.loaded += 1
        return self.x[index], self.x[index, :1]


def engine_runner(work_dir, dataset, max_iters, **kwargs):
    return child_train.engine_runner(
        str(work_dir), by_epoch=False, name=unique('cost'),
        train_dataloader=DataLoader(dataset, batch_size=BATCH, shuffle=True),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        param_scheduler=None,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           by_epoch=False, interval=4)),
        **kwargs)


def test_engine_resume_loads_no_skipped_batch(tmp_path):
    dataset = Counted()
    engine_runner(tmp_path / 'run', dataset, 8).train()
    assert dataset.loaded == 8 * BATCH
    resumed_data = Counted()
    resumed = engine_runner(tmp_path / 'run', resumed_data, 10, resume=True,
                            load_from=str(tmp_path / 'run' / 'iter_4.pth'))
    resumed.train()
    assert resumed.iter == 10
    assert resumed_data.loaded == 6 * BATCH  # iterations 5..10 only


@pytest.mark.parametrize('skipped', [10, 1_000, 100_000])
def test_engine_resume_cost_against_skipped_iterations(
        tmp_path, record_property, skipped):
    """A checkpoint ``skipped`` iterations in (crafted from a real one), with
    and without its recorded data position: still nothing is loaded but the
    two iterations that follow."""
    dataset = Counted()
    engine_runner(tmp_path / 'run', dataset, 4).train()
    checkpoint = load_checkpoint_file(str(tmp_path / 'run' / 'iter_4.pth'))
    for recorded in (True, False):
        meta = checkpoint['meta']
        meta['iter'] = skipped
        if recorded:  # the position an uninterrupted run would have saved
            meta['train_loop'].update(
                pass_index=skipped // (SAMPLES // BATCH),
                served=skipped % (SAMPLES // BATCH))
        else:  # an older or converted checkpoint: located by index lists
            meta.pop('train_loop')
        path = str(tmp_path / f'at_{skipped}_{recorded}.pth')
        save_checkpoint(checkpoint, path)
        fresh = Counted()
        runner = engine_runner(tmp_path / f'resumed_{recorded}', fresh,
                               skipped + 2, resume=True, load_from=path)
        start = time.perf_counter()
        runner.train()
        seconds = time.perf_counter() - start
        record_property(f'resume_seconds_recorded_{recorded}', seconds)
        print(f'engine: resume after {skipped} iterations '
              f'(position recorded: {recorded}): {seconds:.3f} s')
        assert runner.iter == skipped + 2
        assert fresh.loaded == 2 * BATCH


def legacy_runner(work_dir, dataset, max_iters):
    runner = child_train.legacy_runner(str(work_dir), by_epoch=False,
                                       name=unique('cost'),
                                       checkpoint_config=dict(interval=4))
    runner._max_iters = max_iters
    return runner, DataLoader(dataset, batch_size=BATCH, shuffle=True)


@pytest.mark.parametrize('skipped', [4, 100_000])
def test_legacy_resume_loads_no_skipped_batch(tmp_path, record_property,
                                              skipped):
    runner, loader = legacy_runner(tmp_path / 'run', Counted(), 4)
    runner.run([loader], [('train', 4)])
    checkpoint = load_checkpoint_file(str(tmp_path / 'run' / 'iter_4.pth'))
    if skipped != 4:  # an mmcv checkpoint further in, without a position
        checkpoint['meta']['iter'] = skipped - 1
        checkpoint['meta'].pop('train_loop')
    path = str(tmp_path / 'resume_from.pth')
    save_checkpoint(checkpoint, path)
    fresh = Counted()
    runner, loader = legacy_runner(tmp_path / 'resumed', fresh, skipped + 2)
    runner.resume(path)
    start = time.perf_counter()
    runner.run([loader], [('train', 2)])
    seconds = time.perf_counter() - start
    record_property('resume_seconds', seconds)
    print(f'legacy: resume after {skipped} iterations: {seconds:.3f} s')
    assert runner.iter == skipped + 2
    assert fresh.loaded == 2 * BATCH
    assert osp.exists(osp.join(str(tmp_path / 'resumed'), 'latest.pth'))
