"""Launcher environments (torchrun, Slurm, MPI) and single-process no-ops."""
import pytest
import torch

from engine import dist
from engine.dist import LaunchEnv, first_host, parse_launch_env


def test_torchrun_environment():
    env = parse_launch_env('pytorch', dict(
        RANK='3', WORLD_SIZE='8', LOCAL_RANK='1', MASTER_ADDR='10.0.0.1',
        MASTER_PORT='1234'))
    assert env == LaunchEnv(3, 8, 1, '10.0.0.1', '1234')


def test_torchrun_without_its_variables_says_how_to_launch():
    with pytest.raises(KeyError, match='RANK.*torchrun'):
        parse_launch_env('pytorch', dict(WORLD_SIZE='2'))


def test_slurm_environment_uses_scontrol_when_available():
    asked = []

    def resolve(nodelist):
        asked.append(nodelist)
        return 'node-from-scontrol'

    env = parse_launch_env('slurm', dict(
        SLURM_PROCID='5', SLURM_NTASKS='8', SLURM_LOCALID='1',
        SLURM_NODELIST='gpu[01-02]'), resolve_host=resolve)
    assert env == LaunchEnv(5, 8, 1, 'node-from-scontrol', '29500')
    assert asked == ['gpu[01-02]']
    assert env.as_environ() == dict(RANK='5', WORLD_SIZE='8', LOCAL_RANK='1',
                                    MASTER_ADDR='node-from-scontrol',
                                    MASTER_PORT='29500')


def test_slurm_environment_parses_the_nodelist_without_scontrol():
    base = dict(SLURM_PROCID='6', SLURM_NTASKS='8',
                SLURM_NODELIST='node[007-010,12],login1')
    env = parse_launch_env('slurm', base, resolve_host=lambda _: None,
                           num_devices=4)
    assert (env.master_addr, env.local_rank, env.master_port) == ('node007',
                                                                  2, '29500')
    env = parse_launch_env('slurm', dict(base, MASTER_PORT='4000'),
                           resolve_host=lambda _: None)
    assert env.master_port == '4000' and env.local_rank == 0
    env = parse_launch_env('slurm', dict(base, MASTER_PORT='4000',
                                         MASTER_ADDR='given'),
                           port=5000, resolve_host=lambda _: None)
    assert (env.master_addr, env.master_port) == ('given', '5000')


@pytest.mark.parametrize('nodelist, host', [
    ('single', 'single'),
    ('a1,a2', 'a1'),
    ('node[3-4]', 'node3'),
    ('node[09,11-12]', 'node09'),
    ('rack[1-2]-n[001-004],x', 'rack1-n001'),
])
def test_first_host(nodelist, host):
    assert first_host(nodelist) == host


def test_slurm_missing_variable():
    with pytest.raises(KeyError, match='SLURM_NODELIST.*srun'):
        parse_launch_env('slurm', dict(SLURM_PROCID='0', SLURM_NTASKS='1'))


def test_mpi_environment():
    env = parse_launch_env('mpi', dict(
        OMPI_COMM_WORLD_RANK='2', OMPI_COMM_WORLD_SIZE='4',
        OMPI_COMM_WORLD_LOCAL_RANK='0', MASTER_ADDR='head'))
    assert env == LaunchEnv(2, 4, 0, 'head', '29500')
    with pytest.raises(KeyError, match='MASTER_ADDR'):
        parse_launch_env('mpi', dict(
            OMPI_COMM_WORLD_RANK='2', OMPI_COMM_WORLD_SIZE='4',
            OMPI_COMM_WORLD_LOCAL_RANK='0'))


def test_bad_values_and_launchers():
    with pytest.raises(ValueError, match='RANK.*two'):
        parse_launch_env('pytorch', dict(RANK='two', WORLD_SIZE='2'))
    with pytest.raises(ValueError, match='launcher'):
        parse_launch_env('kubernetes', {})


@pytest.mark.parametrize('environ, launcher', [
    (dict(WORLD_SIZE='2'), 'pytorch'),
    (dict(SLURM_NTASKS='2'), 'slurm'),
    (dict(OMPI_COMM_WORLD_LOCAL_RANK='0'), 'mpi'),
    ({}, 'none'),
])
def test_infer_launcher(environ, launcher):
    assert dist.infer_launcher(environ) == launcher


def test_single_process_answers_are_no_ops():
    assert not dist.is_distributed()
    assert dist.get_dist_info() == (0, 1)
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank(),
            dist.get_local_size()) == (0, 1, 0, 1)
    assert dist.is_main_process() and dist.get_backend() is None
    dist.barrier()
    data = torch.tensor([1.0, 2.0])
    dist.all_reduce(data, op='mean')
    dist.broadcast(data)
    assert data.tolist() == [1.0, 2.0]
    assert dist.all_gather(data)[0] is data
    assert dist.all_gather_object('x') == ['x']
    objects = ['a']
    dist.broadcast_object_list(objects)
    assert objects == ['a']
    assert dist.collect_results([1, 2, 3], 2) == [1, 2]
    assert dist.sync_random_seed(7) == 7
    assert 0 <= dist.sync_random_seed() < 2**31
    assert dist.master_only(lambda: 'ran')() == 'ran'


def test_single_process_argument_checks():
    with pytest.raises(ValueError, match='op must be'):
        dist.all_reduce(torch.ones(1), op='median')
    with pytest.raises(TypeError, match='seed'):
        dist.sync_random_seed('7')
    with pytest.raises(ValueError, match='device'):
        dist.collect_results([1], 1, device='tpu')
    with pytest.raises(TypeError, match='list'):
        dist.broadcast_object_list(('a', ))


def test_init_dist_rejects_bad_arguments(monkeypatch):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    with pytest.raises(TypeError, match='timeout'):
        dist.init_dist('pytorch', timeout='soon')
    with pytest.raises(ValueError, match='init_backend'):
        dist.init_dist('pytorch', init_backend='deepspeed')
