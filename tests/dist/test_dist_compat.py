"""``compat.adapt`` under both engine wrappers, in two gloo processes: the
seed's MMCV toy model under MMDistributedDataParallel equals one process,
and the seed's MMCV GAN (stepping its own optimizers) trains under
MMSeparateDistributedDataParallel."""
import torch

import compat
from engine.optim import OptimWrapper
from engine.runner import Runner
from dist_helper import run_ranks, values
from dist_models import (MMCVGAN, MMCVToyModel, assert_same_params, pairs,
                         params_of, points, seeded)

BATCH = 3
TRAIN = pairs(24)
LR = 0.05


def _loader(dataset, batch_size):
    return dict(
        dataset=dataset,
        batch_size=batch_size,
        sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
        collate_fn=dict(type='default_collate'))


def _toy(work_dir, batch_size, lr, launcher):
    runner = Runner(
        model=compat.adapt(seeded(MMCVToyModel)),
        work_dir=work_dir,
        train_dataloader=_loader(TRAIN, batch_size),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        default_hooks=dict(checkpoint=None),
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=30)),
        randomness=dict(seed=0),
        log_level='WARNING')
    runner.train()
    return dict(wrapper=type(runner.model).__name__,
                params=params_of(runner.model))


def _gan(work_dir):
    model = compat.adapt(seeded(MMCVGAN))
    start = params_of(model)
    runner = Runner(
        model=model,
        work_dir=work_dir,
        train_dataloader=_loader(points(16), 4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            generator=OptimWrapper(
                torch.optim.SGD(model.generator.parameters(), lr=0.1)),
            discriminator=OptimWrapper(
                torch.optim.SGD(model.discriminator.parameters(), lr=0.1))),
        default_hooks=dict(checkpoint=None),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=30)),
        # different noise per rank: equal parameters need synced gradients
        randomness=dict(seed=0, diff_rank_seed=True),
        cfg=dict(model_wrapper_cfg='MMSeparateDistributedDataParallel'),
        log_level='WARNING')
    runner.train()
    return dict(
        wrapper=type(runner.model).__name__,
        generator=type(model.generator).__name__,
        adapted=compat.is_adapted(runner.model),
        start=start,
        params=params_of(model))


def test_adapted_models_under_both_wrappers(tmp_path):

    def rank_job(rank):
        return (_toy(str(tmp_path / f'toy{rank}'), BATCH, LR, 'pytorch'),
                _gan(str(tmp_path / f'gan{rank}')))

    ranks = values(run_ranks(rank_job))
    # The seed's loss is a sum over the batch and DDP averages the ranks'
    # gradients: two ranks at lr equal one process at lr / 2 (exactly, as
    # both factors are powers of two).
    single = _toy(str(tmp_path / 'single'), 2 * BATCH, LR / 2, 'none')
    for toy, gan in ranks:
        assert toy['wrapper'] == 'MMDistributedDataParallel'
        assert_same_params(toy['params'], single['params'])
        assert gan['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert gan['generator'] == 'MMDistributedDataParallel'
        assert gan['adapted']
    gan0, gan1 = ranks[0][1], ranks[1][1]
    assert_same_params(gan0['params'], gan1['params'], rtol=0)
    for key, value in gan0['start'].items():
        assert not torch.equal(value, gan0['params'][key]), key
