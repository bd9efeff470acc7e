"""One rank fails or gets stuck: the others stop with an error naming it,
bounded by the process group's timeout, instead of hanging."""
import os
import pickle
import re
import time

import pytest
import torch

import legacy
from engine.dist import RankFailedError
from engine.runner import Runner
from dist_helper import run_ranks
from dist_models import MMCVToyModel, MMEngineToyModel, pairs, seeded

TRAIN = pairs(24)


class Faulty:
    """Makes rank ``rank``'s 3rd forward raise, or sleep ``stall`` s."""

    def __init__(self, rank: int, stall: float = 0.) -> None:
        self.rank, self.stall, self.calls = rank, stall, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls != 3 or int(os.environ['RANK']) != self.rank:
            return
        if self.stall:
            time.sleep(self.stall)
        else:
            raise ValueError(f'bad batch on rank {self.rank}')


class FaultyEngineModel(MMEngineToyModel):
    fault = None

    def forward(self, *args, **kwargs):
        self.fault()
        return super().forward(*args, **kwargs)


class FaultyMMCVModel(MMCVToyModel):
    fault = None

    def forward(self, *args, **kwargs):
        self.fault()
        return super().forward(*args, **kwargs)


def _engine(rank, tmp_path, fault, timeout):
    model = seeded(FaultyEngineModel)
    model.fault = fault
    Runner(
        model=model,
        work_dir=str(tmp_path / f'rank{rank}'),
        train_dataloader=dict(
            dataset=TRAIN, batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=timeout)),
        log_level='ERROR').train()


def _legacy(rank, tmp_path, fault, timeout):
    legacy.init_dist('pytorch', timeout=timeout)
    model = seeded(FaultyMMCVModel)
    model.fault = fault
    runner = legacy.EpochBasedRunner(
        legacy.MMDistributedDataParallel(model),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        work_dir=str(tmp_path / f'rank{rank}'),
        logger=legacy.get_logger(f'failing-{os.getpid()}'),
        max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([torch.utils.data.DataLoader(TRAIN, batch_size=2)],
               [('train', 1)])


@pytest.mark.parametrize('api', [_engine, _legacy])
def test_a_failing_rank_is_named_by_the_others(tmp_path, api):
    outcomes = run_ranks(
        lambda rank: api(rank, tmp_path, Faulty(rank=1), timeout=20),
        timeout=40, allow_errors=True)
    failed, waiting = outcomes[1], outcomes[0]
    # the failing rank keeps its own error
    assert failed.error == 'ValueError: bad batch on rank 1'
    # the other one does not hang and says which rank failed, and why
    assert waiting.error.startswith(
        'RankFailedError: rank 0 stopped because rank 1 failed: '
        'ValueError: bad batch on rank 1 (at '), waiting.trace
    # with the place it was raised
    assert re.search(r'test_dist_failures.py:\d+ in __call__\)$',
                     waiting.error)


def test_a_stuck_rank_ends_the_others_wait_after_the_timeout(tmp_path):
    outcomes = run_ranks(
        lambda rank: _engine(rank, tmp_path, Faulty(rank=1, stall=2.5),
                             timeout=1),
        timeout=40, allow_errors=True)
    waiting, stuck = outcomes
    # rank 0 gives up after the process group's timeout: nobody reported
    # an error
    assert waiting.error.startswith(
        'RankFailedError: rank 0 stopped: a collective operation failed'), \
        waiting.trace
    assert 'no other rank reported an error' in waiting.error
    # rank 1 wakes up to find rank 0, which hosts the store, gone
    assert stuck.error.startswith('RankFailedError: rank 1 stopped'), \
        stuck.trace
    assert "the job's store cannot be reached" in stuck.error


def test_the_error_survives_pickling():
    error = RankFailedError('rank 0 stopped because rank 1 failed: X', 0, 1,
                            'X')
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.rank, copy.failed_rank, copy.failure) == (
        str(error), 0, 1, 'X')
