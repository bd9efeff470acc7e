"""The torchrun examples (examples/dist_*.py), run as torchrun would run
them: two processes with torchrun's variables, each executing the whole file
in the same working directory (forked here: a real ``torchrun`` start costs
several seconds; ``docs/distributed.md`` shows the command)."""
import os
import runpy
from pathlib import Path

import pytest
import torch

from dist_helper import run_ranks, values
from dist_models import assert_same_params, params_of

EXAMPLES = Path(__file__).resolve().parents[2] / 'examples'


def _run_example(name, tmp_path):

    def rank_job(rank):
        os.chdir(tmp_path)
        found = runpy.run_path(str(EXAMPLES / name), run_name='__main__')
        runner = found['runner']
        return dict(iters=runner.iter, rank=runner.rank,
                    world_size=runner.world_size,
                    wrapper=type(runner.model).__name__,
                    work_dir=runner.work_dir,
                    params=params_of(runner.model))

    return values(run_ranks(rank_job))


def _checkpoints(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))


@pytest.mark.parametrize('name, wrapper, iters, checkpoints', [
    ('dist_engine.py', 'MMDistributedDataParallel', 24,
     [f'epoch_{i}.pth' for i in range(1, 5)]),
    ('dist_gan.py', 'MMSeparateDistributedDataParallel', 16,
     ['epoch_2.pth', 'epoch_4.pth']),
    ('dist_custom_wrapper.py', 'CustomDistributedDataParallel', 18, []),
    ('dist_legacy.py', 'MMDistributedDataParallel', 48,
     ['epoch_2.pth', 'epoch_4.pth', 'latest.pth']),
])
def test_example_trains_on_two_ranks(tmp_path, name, wrapper, iters,
                                     checkpoints):
    rank0, rank1 = _run_example(name, tmp_path)
    for rank, out in enumerate((rank0, rank1)):
        assert (out['rank'], out['world_size']) == (rank, 2)
        assert out['wrapper'] == wrapper
        # each rank gets half of the data
        assert out['iters'] == iters
    # the ranks end with the same model
    assert_same_params(rank0['params'], rank1['params'], rtol=0)
    work_dir = rank0['work_dir']
    assert Path(work_dir).parent == tmp_path
    assert _checkpoints(work_dir) == checkpoints
    if checkpoints:
        state = torch.load(os.path.join(work_dir, checkpoints[-1]),
                           weights_only=True)['state_dict']
        assert_same_params(state, rank0['params'], rtol=0)
