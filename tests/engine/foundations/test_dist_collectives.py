"""Collectives for real: two CPU processes on gloo, started like torchrun."""
import multiprocessing
import os
import socket
import traceback

import pytest
import torch

TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _checks(rank: int) -> dict:
    from engine import dist
    from engine.dataset import DefaultSampler
    from engine.logging import MMLogger

    dist.init_dist('pytorch', timeout=TIMEOUT_S)
    out = dict(info=dist.get_dist_info(), backend=dist.get_backend(),
               local=(dist.get_local_rank(), dist.get_local_size()),
               distributed=dist.is_distributed())

    value = torch.tensor([rank + 1.0])
    for op in ('sum', 'mean', 'max'):
        data = value.clone()
        dist.all_reduce(data, op=op)
        out[op] = data.item()
    ints = torch.tensor([rank + 1])
    dist.all_reduce(ints, op='mean')
    out['int_mean'] = ints.item()
    out['all_gather'] = [t.item() for t in dist.all_gather(value)]
    out['gather'] = [t.item() for t in dist.gather(value, dst=1)]
    data = torch.tensor([float(rank)] * 2)
    dist.broadcast(data, src=1)
    out['broadcast'] = data.tolist()
    objects = [f'from {rank}', dict(rank=rank)]
    dist.broadcast_object_list(objects, src=0)
    out['broadcast_objects'] = objects
    out['all_gather_object'] = dist.all_gather_object(dict(rank=rank))
    out['gather_object'] = dist.gather_object(rank * 10)
    tensors = dict(a=torch.tensor([rank * 1.0]), b=torch.ones(2, 2) * rank)
    dist.all_reduce_dict(tensors, op='sum')
    out['reduce_dict'] = {k: v.tolist() for k, v in tensors.items()}
    params = [torch.nn.Parameter(torch.full((2, ), rank + 1.0)),
              torch.full((1, ), rank * 2.0)]
    dist.all_reduce_params(params, op='mean')
    out['reduce_params'] = [p.data.tolist() for p in params]
    out['seed'] = dist.sync_random_seed(123 if rank == 0 else 456)
    out['random_seed'] = dist.sync_random_seed()
    out['master_only'] = dist.master_only(lambda: 'ran')()
    dist.barrier()

    ordered = DefaultSampler(list(range(5)), shuffle=False, seed=0)
    out['ordered_shard'] = list(ordered)
    results = [f'r{i}' for i in ordered]
    out['collected'] = dist.collect_results(results, 5)
    shuffled = DefaultSampler(list(range(11)), shuffle=True)
    shuffled.set_epoch(2)
    out['shuffled_shard'] = list(shuffled)

    logger = MMLogger.get_instance(f'dist-logger-{os.getpid()}')
    out['console_level'] = logger.handlers[0].level
    torch.distributed.destroy_process_group()
    return out


def _worker(rank: int, port: int, queue) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE='2', LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        queue.put((rank, _checks(rank), None))
    except BaseException:  # report everything, never hang the parent
        queue.put((rank, None, traceback.format_exc()))


def run_two_processes() -> dict:
    method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() \
        else 'spawn'
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(rank, port, queue))
             for rank in range(2)]
    for proc in procs:
        proc.start()
    results, errors = {}, []
    try:
        for _ in procs:
            rank, out, error = queue.get(timeout=TIMEOUT_S)
            if error:
                errors.append(f'rank {rank}:\n{error}')
            results[rank] = out
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    assert not errors, '\n'.join(errors)
    return results


@pytest.fixture(scope='module')
def results():
    return run_two_processes()


def test_process_group_from_torchrun_environment(results):
    for rank in (0, 1):
        assert results[rank]['info'] == (rank, 2)
        assert results[rank]['backend'] == 'gloo'
        assert results[rank]['local'] == (rank, 2)
        assert results[rank]['distributed']


def test_reductions(results):
    for out in results.values():
        assert (out['sum'], out['mean'], out['max']) == (3.0, 1.5, 2.0)
        assert out['int_mean'] == 1  # 1.5 copied back into an int tensor
        assert out['reduce_dict'] == dict(a=[1.0], b=[[1.0, 1.0],
                                                      [1.0, 1.0]])
        assert out['reduce_params'] == [[1.5, 1.5], [1.0]]


def test_gathers_and_broadcasts(results):
    for rank, out in results.items():
        assert out['all_gather'] == [1.0, 2.0]
        assert out['broadcast'] == [1.0, 1.0]
        assert out['broadcast_objects'] == ['from 0', dict(rank=0)]
        assert out['all_gather_object'] == [dict(rank=0), dict(rank=1)]
    assert results[1]['gather'] == [1.0, 2.0] and results[0]['gather'] == []
    assert results[0]['gather_object'] == [0, 10]
    assert results[1]['gather_object'] is None


def test_seeds_are_shared_and_master_only(results):
    assert results[0]['seed'] == results[1]['seed'] == 123
    assert results[0]['random_seed'] == results[1]['random_seed']
    assert results[0]['master_only'] == 'ran'
    assert results[1]['master_only'] is None


def test_sampler_shards_and_collect_results_order(results):
    assert results[0]['ordered_shard'] == [0, 2, 4]
    assert results[1]['ordered_shard'] == [1, 3, 0]
    assert results[0]['collected'] == ['r0', 'r1', 'r2', 'r3', 'r4']
    assert results[1]['collected'] is None
    shards = results[0]['shuffled_shard'] + results[1]['shuffled_shard']
    assert len(results[0]['shuffled_shard']) == 6
    assert sorted(set(shards)) == list(range(11))


def test_only_rank_zero_logs_to_console(results):
    assert results[0]['console_level'] == 20
    assert results[1]['console_level'] == 40
