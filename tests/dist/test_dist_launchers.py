"""Jobs started by Slurm (``srun``) and Open MPI (``mpirun``): each rank
finds only that launcher's variables, prepared here, and joins a real gloo
process group from them, through the Runner and through legacy's
``init_dist``."""
import os
import warnings

import torch

import legacy
from engine import dist
from engine.runner import Runner
from dist_helper import run_ranks, values
from dist_models import MMEngineToyModel, pairs, seeded


def slurm_env(rank, port):
    # what srun sets for task `rank` of `srun -N1 -n2`
    return dict(SLURM_PROCID=str(rank), SLURM_NTASKS='2',
                SLURM_LOCALID=str(rank), SLURM_NODELIST='localhost',
                _PORT=str(port))


def mpi_env(rank, port):
    # what Open MPI's mpirun sets, plus the master address it needs
    return dict(OMPI_COMM_WORLD_RANK=str(rank), OMPI_COMM_WORLD_SIZE='2',
                OMPI_COMM_WORLD_LOCAL_RANK=str(rank),
                MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))


def _summary():
    total = torch.tensor([dist.get_rank() + 1.])
    dist.all_reduce(total)
    return dict(info=dist.get_dist_info(), local_rank=dist.get_local_rank(),
                total=total.item(),
                env={k: os.environ[k] for k in ('RANK', 'WORLD_SIZE',
                                                 'LOCAL_RANK', 'MASTER_ADDR')})


def _slurm_rank(rank, tmp_path):
    assert 'RANK' not in os.environ  # nothing of torchrun's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner = _slurm_runner(rank, tmp_path)
    runner.train()
    return dict(_summary(), iters=runner.iter, launcher=runner.launcher,
                backend=dist.get_backend(),
                warnings=[str(w.message) for w in caught
                          if 'nccl' in str(w.message)])


def _slurm_runner(rank, tmp_path):
    # a GPU config: without CUDA, nccl falls back to gloo with a warning
    backend = 'gloo' if torch.cuda.is_available() else 'nccl'
    return Runner(
        model=seeded(MMEngineToyModel),
        work_dir=str(tmp_path / f'rank{rank}'),
        train_dataloader=dict(
            dataset=pairs(8), batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None),
        launcher='slurm',
        env_cfg=dict(dist_cfg=dict(backend=backend, timeout=30,
                                   port=int(os.environ['_PORT']))),
        log_level='WARNING')


def _mpi_rank(rank):
    assert 'RANK' not in os.environ
    legacy.init_dist('mpi', timeout=30)
    return _summary()


def test_slurm_job_trains_through_the_runner(tmp_path):
    ranks = values(run_ranks(lambda rank: _slurm_rank(rank, tmp_path),
                             env=slurm_env))
    for rank, out in enumerate(ranks):
        assert out['info'] == (rank, 2) and out['local_rank'] == rank
        assert out['total'] == 3.
        assert out['env'] == dict(RANK=str(rank), WORLD_SIZE='2',
                                  LOCAL_RANK=str(rank),
                                  MASTER_ADDR='localhost')
        # 8 samples, 2 per rank and batch
        assert out['iters'] == 2 and out['launcher'] == 'slurm'
        assert out['backend'] == 'gloo'
        if not torch.cuda.is_available():
            assert out['warnings'] == [
                "backend 'nccl' needs CUDA GPUs and none is available here: "
                "using 'gloo' instead"]


def test_mpi_job_joins_through_legacy_init_dist():
    ranks = values(run_ranks(_mpi_rank, env=mpi_env))
    for rank, out in enumerate(ranks):
        assert out['info'] == (rank, 2) and out['local_rank'] == rank
        assert out['total'] == 3.
        assert out['env']['RANK'] == str(rank)
