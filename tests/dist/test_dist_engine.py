"""The engine Runner in two processes (gloo, started like torchrun): it
creates the process group, wraps the model, shards the data, synchronises
gradients, gathers the validation results and writes files on rank 0 only.
Every run is compared with one process training on the same data with the
batch of both ranks together."""
import os

import pytest
import torch
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import \
    allreduce_hook

from engine.optim import OptimWrapper
from engine.registry import MODEL_WRAPPERS
from engine.runner import Runner
from dist_helper import run_ranks, values
from dist_models import (AbsError, CustomDistributedDataParallel,
                         CustomModel, MMEngineToyModel, SeedGAN,
                         assert_same_params, pairs, params_of, points, seeded)

BATCH = 3  # per rank; the one-process reference uses 2 * BATCH
TRAIN = pairs(42)  # 7 global batches per epoch: an odd number
VAL = pairs(7, seed=1)  # not divisible by 2: rank 1 gets a padding sample
DIST_CFG = dict(backend='gloo', timeout=30)


def _loader(dataset, batch_size, shuffle=True):
    return dict(
        dataset=dataset,
        batch_size=batch_size,
        sampler=dict(type='DefaultSampler', shuffle=shuffle, seed=0),
        collate_fn=dict(type='default_collate'))


def _toy_runner(work_dir, name, batch_size, launcher='none', **kwargs):
    args = dict(
        model=seeded(MMEngineToyModel),
        work_dir=work_dir,
        train_dataloader=_loader(TRAIN, batch_size),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=2),
        val_dataloader=_loader(VAL, 2, shuffle=False),
        val_cfg=dict(),
        val_evaluator=dict(type=AbsError),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
            accumulative_counts=2),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=2),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        launcher=launcher,
        env_cfg=dict(dist_cfg=DIST_CFG),
        randomness=dict(seed=0),
        experiment_name=name,
        log_level='WARNING')
    args.update(kwargs)
    return Runner(**args)


def _files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, _, names in os.walk(root) for f in names)


def _toy_rank(rank, tmp_path):
    """Train with accumulation (counting the all-reduces), validate, then a
    second runner on every rank loads rank 0's checkpoint."""
    runner = _toy_runner(str(tmp_path / f'rank{rank}'), 'toy', BATCH,
                         launcher='pytorch')
    syncs = []

    def counting_hook(state, bucket):
        syncs.append(runner.iter)
        return allreduce_hook(state, bucket)

    runner.model.register_comm_hook(None, counting_hook)
    runner.train()
    out = dict(
        wrapper=type(runner.model).__name__,
        info=(runner.rank, runner.world_size, runner.distributed),
        syncs=syncs,
        params=params_of(runner.model),
        metrics=runner.val(),
        files=_files(tmp_path / f'rank{rank}'))
    torch.distributed.barrier()
    checkpoint = str(tmp_path / 'rank0' / 'epoch_2.pth')
    loader = _toy_runner(str(tmp_path / f'load{rank}'), 'load', BATCH,
                         launcher='pytorch', load_from=checkpoint)
    out['loaded_metrics'] = loader.val()
    out['loaded_params'] = params_of(loader.model)
    return out


def test_toy_model_with_accumulation_equals_one_process(tmp_path):
    ranks = values(run_ranks(lambda rank: _toy_rank(rank, tmp_path)))
    single = _toy_runner(str(tmp_path / 'single'), 'single', 2 * BATCH)
    single.train()
    expected_params = params_of(single.model)
    # one process validating the parameters the two ranks trained
    checkpoint = str(tmp_path / 'rank0' / 'epoch_2.pth')
    expected_metrics = _toy_runner(str(tmp_path / 'single_val'), 'val',
                                   BATCH, load_from=checkpoint).val()
    assert expected_metrics['toy/count'] == len(VAL)
    assert expected_metrics['toy/mae'] == pytest.approx(
        single.val()['toy/mae'], rel=1e-6)
    for rank, out in enumerate(ranks):
        assert out['wrapper'] == 'MMDistributedDataParallel'
        assert out['info'] == (rank, 2, True)
        # 14 iterations, updating every 2nd: gradients are all-reduced on
        # the updating iterations only
        assert out['syncs'] == [1, 3, 5, 7, 9, 11, 13]
        assert_same_params(out['params'], expected_params)
        # the validation set split over two ranks gives the one-process
        # metric, in dataset order and padding dropped
        assert out['metrics'] == expected_metrics
        # loading happens on every rank
        assert out['loaded_metrics'] == expected_metrics
        assert_same_params(out['loaded_params'], out['params'], rtol=0)
    rank0, rank1 = ranks[0]['files'], ranks[1]['files']
    assert {'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'} <= set(rank0)
    assert any(f.endswith('.log') for f in rank0)
    assert any(f.endswith('scalars.json') for f in rank0)
    # checkpoints, logs and scalars are written by rank 0 only
    assert rank1 == [], rank1


def _gan_rank(rank, tmp_path):
    torch.manual_seed(0)
    model = SeedGAN()
    optim_wrapper = dict(
        generator=OptimWrapper(
            torch.optim.SGD(model.generator.parameters(), lr=0.1)),
        discriminator=OptimWrapper(
            torch.optim.SGD(model.discriminator.parameters(), lr=0.1)))
    start = params_of(model)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / f'gan{rank}'),
        train_dataloader=_loader(points(16), 4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=optim_wrapper,
        default_hooks=dict(checkpoint=None),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=DIST_CFG),
        # each rank draws its own noise: the parameters stay equal only
        # because the gradients are all-reduced
        randomness=dict(seed=0, diff_rank_seed=True),
        cfg=dict(model_wrapper_cfg='MMSeparateDistributedDataParallel'),
        log_level='WARNING')
    runner.train()
    return dict(
        wrapper=type(runner.model).__name__,
        parts={name: type(part).__name__
               for name, part in model.named_children()},
        start=start,
        params=params_of(model),
        losses=runner.message_hub.get_scalar('train/loss_gen').data[0])


def _custom_run(work_dir, distributed):
    if distributed:  # registered in the rank processes only (see its doc)
        MODEL_WRAPPERS.register_module(module=CustomDistributedDataParallel)
    model = seeded(CustomModel)
    runner = Runner(
        model=model,
        work_dir=work_dir,
        train_dataloader=_loader(TRAIN, BATCH if distributed else 2 * BATCH),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        default_hooks=dict(checkpoint=None),
        launcher='pytorch' if distributed else 'none',
        env_cfg=dict(dist_cfg=DIST_CFG),
        randomness=dict(seed=0),
        cfg=dict(
            model_wrapper_cfg=dict(type='CustomDistributedDataParallel')),
        log_level='WARNING')
    runner.train()
    return dict(wrapper=type(runner.model).__name__,
                calls=CustomDistributedDataParallel.calls,
                linear=type(model.linear).__name__,
                params=params_of(model))


def test_seed_gan_and_custom_wrapper(tmp_path):
    """The seed's GAN under MMSeparateDistributedDataParallel, and its
    CustomDistributedDataParallel (a registered subclass overriding
    train_step) used when named, in one job."""

    def both(rank):
        return (_gan_rank(rank, tmp_path),
                _custom_run(str(tmp_path / f'custom{rank}'), True))

    ranks = values(run_ranks(both))
    gans = [gan for gan, _ in ranks]
    for gan in gans:
        assert gan['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert gan['parts'] == dict(
            generator='MMDistributedDataParallel',
            discriminator='MMDistributedDataParallel',
            data_preprocessor='BaseDataPreprocessor')
        assert len(gan['losses']) == 4
        assert all(torch.isfinite(torch.as_tensor(gan['losses'])))
    assert_same_params(gans[0]['params'], gans[1]['params'], rtol=0)
    for key, value in gans[0]['start'].items():
        assert not torch.equal(value, gans[0]['params'][key]), key

    # one process: the model is not wrapped, its own train_step runs
    single = _custom_run(str(tmp_path / 'custom'), False)
    assert single['wrapper'] == 'CustomModel' and single['calls'] == 0
    for _, custom in ranks:
        assert custom['wrapper'] == 'CustomDistributedDataParallel'
        assert custom['linear'] == 'MMDistributedDataParallel'
        assert custom['calls'] == 7  # 42 samples, 3 per rank and batch
        assert_same_params(custom['params'], single['params'])
