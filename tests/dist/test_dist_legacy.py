"""The MMCV API in two gloo processes, as the seed document writes it:
``init_dist``, the model wrapped in ``MMDistributedDataParallel`` before the
runner is built, ``DistSamplerSeedHook``, ``DistEvalHook`` and the fp16
optimizer hooks; each run equals one process with the batch of both ranks.
"""
import os

import pytest
import torch
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import \
    allreduce_hook
from torch.utils.data import DataLoader, DistributedSampler

import legacy
from dist_helper import run_ranks, values
from dist_models import (EvalSet, MMCVToyModelWithTest, assert_same_params,
                         pairs, params_of, seeded)

BATCH = 3
TRAIN = pairs(24)
LR = 0.05


def _files(root):
    return sorted(f for _, _, names in os.walk(root) for f in names)


def _run(work_dir, distributed, optimizer_config, batch_size, lr,
         evaluate=False, max_epochs=2):
    """One legacy run; ``distributed``: the seed's distributed set-up."""
    model = seeded(MMCVToyModelWithTest)
    if distributed:
        model = legacy.MMDistributedDataParallel(
            model,
            device_ids=[int(os.environ['LOCAL_RANK'])],
            broadcast_buffers=False,
            find_unused_parameters=False)
        sampler = DistributedSampler(TRAIN, shuffle=True, seed=0)
    else:
        sampler = DistributedSampler(TRAIN, num_replicas=1, rank=0,
                                     shuffle=True, seed=0)
    inner = getattr(model, 'module', model)
    syncs = []
    if distributed:

        def counting_hook(state, bucket):
            syncs.append(runner.iter)
            return allreduce_hook(state, bucket)

        model.register_comm_hook(None, counting_hook)
    os.makedirs(work_dir, exist_ok=True)
    logger = legacy.get_logger(f'legacy-dist-{os.getpid()}-{id(model)}',
                               log_file=os.path.join(work_dir, 'train.log'))
    runner = legacy.EpochBasedRunner(
        model,
        optimizer=torch.optim.SGD(inner.parameters(), lr=lr, momentum=0.9),
        work_dir=work_dir,
        logger=logger,
        meta=dict(),
        max_epochs=max_epochs)
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[1]),
        optimizer_config=optimizer_config,
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))
    runner.register_hook(legacy.DistSamplerSeedHook())
    val_set = EvalSet(7)
    if evaluate:
        val_sampler = DistributedSampler(val_set, shuffle=False) \
            if distributed else None
        hook = legacy.DistEvalHook if distributed else legacy.EvalHook
        runner.register_hook(
            hook(DataLoader(val_set, batch_size=2, sampler=val_sampler),
                 save_best='mae', rule='less'))
    runner.run([DataLoader(TRAIN, batch_size=batch_size, sampler=sampler)],
               [('train', 1)])
    return dict(params=params_of(model), syncs=syncs,
                evaluations=val_set.history, sampler_epoch=sampler.epoch,
                files=_files(work_dir))


OPTIMIZER_CONFIGS = dict(
    plain=dict(grad_clip=None),
    fp16=dict(type='Fp16OptimizerHook', loss_scale=512., distributed=True),
    cumulative_fp16=dict(
        type='GradientCumulativeFp16OptimizerHook', cumulative_iters=3,
        loss_scale='dynamic', distributed=True))


def _rank_job(rank, tmp_path):
    legacy.init_dist('pytorch', timeout=30)
    out = dict(info=legacy.get_dist_info(),
               master_only=legacy.master_only(lambda: 'ran')())
    for name, config in OPTIMIZER_CONFIGS.items():
        out[name] = _run(str(tmp_path / f'{name}{rank}'), True, config, BATCH,
                         LR, evaluate=name == 'plain')
    # every rank loads rank 0's checkpoint into its wrapped model
    torch.distributed.barrier()
    fresh = legacy.MMDistributedDataParallel(MMCVToyModelWithTest())
    legacy.load_checkpoint(fresh, str(tmp_path / 'plain0' / 'epoch_2.pth'))
    out['loaded'] = params_of(fresh)
    return out


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('legacy_dist')
    return values(run_ranks(lambda rank: _rank_job(rank, tmp_path)))


def _single(tmp_path, name):
    """One process, batch 2 * BATCH. The seed's loss is a sum over the batch
    and DDP averages the ranks' gradients, so it runs at LR / 2 (exactly
    equivalent: both factors are powers of two)."""
    return _run(str(tmp_path / name), False, OPTIMIZER_CONFIGS[name],
                2 * BATCH, LR / 2, evaluate=name == 'plain')


def test_seed_setup_equals_one_process(ranks, tmp_path):
    single = _single(tmp_path, 'plain')
    assert [r['info'] for r in ranks] == [(0, 2), (1, 2)]
    assert [r['master_only'] for r in ranks] == ['ran', None]
    for r in ranks:
        assert_same_params(r['plain']['params'], single['params'])
        # DistSamplerSeedHook moved the sampler to the second epoch
        assert r['plain']['sampler_epoch'] == 1
        # without accumulation, every iteration all-reduces: 4 per epoch
        assert r['plain']['syncs'] == list(range(8))
        assert_same_params(r['loaded'], ranks[0]['plain']['params'], rtol=0)
    # DistEvalHook: every rank tests its share, rank 0 evaluates the whole
    # set in order, padding dropped, as one process does
    rank0, rank1 = ranks[0]['plain'], ranks[1]['plain']
    assert rank1['evaluations'] == []
    assert [e['count'] for e in rank0['evaluations']] == [7, 7]
    for got, expected in zip(rank0['evaluations'], single['evaluations']):
        assert got['mae'] == pytest.approx(expected['mae'], rel=1e-6)
    # checkpoints (the best one included) and logs are rank 0's only
    assert {'epoch_1.pth', 'epoch_2.pth', 'train.log'} <= set(rank0['files'])
    assert any(f.startswith('best_mae_') for f in rank0['files'])
    assert any(f.endswith('.log.json') for f in rank0['files'])
    assert rank1['files'] == []


def test_fp16_optimizer_hook_under_ddp_equals_one_process(ranks, tmp_path):
    single = _single(tmp_path, 'fp16')
    for r in ranks:
        assert_same_params(r['fp16']['params'], single['params'])


def test_cumulative_fp16_hook_syncs_on_updating_iterations_only(
        ranks, tmp_path):
    single = _single(tmp_path, 'cumulative_fp16')
    for r in ranks:
        assert_same_params(r['cumulative_fp16']['params'], single['params'])
        # 8 iterations in groups of 3 (the last one of 2): gradients are
        # all-reduced when the parameters are updated, not in between
        assert r['cumulative_fp16']['syncs'] == [2, 5, 7]
