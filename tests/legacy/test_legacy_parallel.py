"""mmcv's model wrappers: train_step/val_step through MMDataParallel on the
CPU, and a two-process gloo run of MMDistributedDataParallel."""
import os
import socket

import torch
import torch.multiprocessing as mp

import legacy
from engine.model import is_model_wrapper
from legacy_scenarios import RegressionModel, regression_loader


def test_mm_data_parallel_on_cpu_forwards_steps(logger, tmp_path):
    torch.manual_seed(0)
    model = RegressionModel()
    wrapped = legacy.MMDataParallel(model)
    assert wrapped.device_ids == [] or torch.cuda.is_available()
    assert legacy.is_module_wrapper(wrapped) and is_model_wrapper(wrapped)
    runner = legacy.EpochBasedRunner(
        wrapped, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    assert runner.model_name == 'RegressionModel'
    runner.register_training_hooks(
        lr_config=None, optimizer_config=dict(),
        checkpoint_config=dict(interval=1))
    runner.run([regression_loader(8, 4), regression_loader(4, 4)],
               [('train', 1), ('val', 1)])
    assert runner.outputs['log_vars'].keys() == {'val_loss'}
    # checkpoints hold the inner model's keys
    state = torch.load(tmp_path / 'epoch_1.pth',
                       weights_only=True)['state_dict']
    assert sorted(state) == ['linear.bias', 'linear.weight']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, work_dir):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = RegressionModel()
        wrapped = legacy.MMDistributedDataParallel(model)
        logger = legacy.get_logger(f'legacy-ddp-{rank}')
        runner = legacy.EpochBasedRunner(
            wrapped, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            work_dir=work_dir, logger=logger, max_epochs=1)
        assert (runner.rank, runner.world_size) == (rank, world_size)
        runner.register_training_hooks(lr_config=None,
                                       optimizer_config=dict())
        data = list(regression_loader(8, 1).dataset)
        # each rank trains on its half of every batch of 4
        shard = [data[i] for i in range(len(data)) if i % 2 == rank]
        loader = torch.utils.data.DataLoader(shard, batch_size=2)
        runner.run([loader], [('train', 1)])
        torch.save([p.detach() for p in model.parameters()],
                   os.path.join(work_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_mm_distributed_data_parallel_averages_gradients(tmp_path):
    # fork: the workers inherit the imported modules (spawn re-imports torch)
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path)),
                       nprocs=2, join=True, start_method='fork')
    # both ranks end with the weights of the full-batch run
    torch.manual_seed(0)
    reference = RegressionModel()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for x, y in regression_loader(8, 4):
        optimizer.zero_grad()
        ((reference.linear(x) - y)**2).mean().backward()
        optimizer.step()
    for rank in (0, 1):
        params = torch.load(tmp_path / f'rank{rank}.pth', weights_only=True)
        for p, r in zip(params, reference.parameters()):
            torch.testing.assert_close(p, r.detach())
