"""compat.adapt: a legacy model trained by engine.runner.Runner, untouched,
with the old runner's numbers."""
import copy
import gc
import pickle

import pytest
import torch
import torch.nn as nn
import torch.distributed as dist

import compat
import legacy
from compat.adapter import LegacyLogVars, per_sample
from engine.model import BaseModel, MMDistributedDataParallel
from engine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from engine.runner import Runner

from compat_toys import (MMCVToyModel, ToyGAN, assert_same_params, params,
                         regression_loader, seeded, unique)

SEED_CFG = dict(
    optimizer=dict(type='SGD', lr=0.01),
    optimizer_config=dict(grad_clip=None),
    lr_config=dict(policy='step', step=[2, 3]),
    log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook')]),
    runner=dict(type='EpochBasedRunner', max_epochs=5))


def seed_loader():
    """The seed document's data: 50 identical samples, batches of 2."""
    dataset = [(torch.ones(1, 1), torch.ones(1, 1))] * 50
    return torch.utils.data.DataLoader(dataset, batch_size=2)


def engine_run(tmp_path, model, cfg, loader, **extra):
    kwargs = compat.migrate_config(cfg)
    kwargs.update(extra)
    runner = Runner(model=compat.adapt(model), work_dir=str(tmp_path / 'e'),
                    train_dataloader=loader,
                    experiment_name=unique('adapt'), **kwargs)
    runner.train()
    return runner


def legacy_run(tmp_path, model, cfg, loader, optimizer=None):
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=0.01)
    runner = legacy.EpochBasedRunner(
        model=model, optimizer=optimizer, work_dir=str(tmp_path / 'l'),
        logger=legacy.get_logger(unique('adapt-legacy')),
        max_epochs=cfg['runner']['max_epochs'])
    runner.register_training_hooks(
        lr_config=copy.deepcopy(cfg.get('lr_config')),
        optimizer_config=copy.deepcopy(cfg.get('optimizer_config')),
        log_config=copy.deepcopy(cfg.get('log_config')))
    runner.run([loader], [('train', 1)])
    return runner


def test_seed_model_on_the_engine_equals_legacy_runner(tmp_path):
    """The seed's MMCV model, adapted and trained by the engine Runner with
    the migrated seed config, ends with legacy.Runner's parameters."""
    old_model, new_model = seeded(MMCVToyModel), seeded(MMCVToyModel)
    legacy_run(tmp_path, old_model, SEED_CFG, seed_loader())
    engine_run(tmp_path, new_model, SEED_CFG, seed_loader())
    assert_same_params(params(old_model), params(new_model))


def test_logged_averages_are_weighted_by_num_samples(tmp_path):
    """21 samples in batches of 4: the last batch has 1 sample, so mmcv's
    weighted LogBuffer average differs from a plain mean; the engine logs
    mmcv's number, bitwise."""
    outputs = []

    class Keep(legacy.Hook):
        def after_train_iter(self, runner):
            outputs.append(dict(runner.outputs))

    cfg = dict(SEED_CFG, runner=dict(type='EpochBasedRunner', max_epochs=1))
    runner = engine_run(tmp_path, seeded(MMCVToyModel), cfg,
                        regression_loader(21, 4), custom_hooks=[Keep()])
    assert [o['num_samples'] for o in outputs] == [4] * 5 + [1]
    reference = legacy.LogBuffer()
    for o in outputs:
        reference.update(o['log_vars'], o['num_samples'])
    reference.average(4)
    history = runner.message_hub.get_scalar('train/loss1')
    assert history.mean(4) == reference.output['loss1']
    plain = sum(o['log_vars']['loss1'] for o in outputs[-4:]) / 4
    assert history.mean(4) != plain


def test_checkpoint_keys_are_the_legacy_ones(tmp_path):
    model = compat.adapt(seeded(MMCVToyModel))
    assert list(model.state_dict()) == ['linear.weight', 'linear.bias']
    assert isinstance(model, BaseModel) and isinstance(model, MMCVToyModel)
    saved = seeded(MMCVToyModel, seed=5)
    legacy.save_checkpoint(saved, str(tmp_path / 'old.pth'))
    engine_run(tmp_path, model, dict(SEED_CFG, runner=dict(
        type='EpochBasedRunner', max_epochs=1), load_from=str(
            tmp_path / 'old.pth'), optimizer=dict(type='SGD', lr=0.0)),
               seed_loader())
    assert_same_params(params(saved), params(model))


def test_self_optimizing_gan_with_a_dict_of_optimizers(tmp_path):
    """optimizer_config=None: train_step steps optimizer['generator'] and
    optimizer['discriminator'] itself; on the engine it gets proxies backed
    by an OptimWrapperDict, and the migrated lr schedule reaches them."""
    cfg = dict(optimizer_config=None, lr_config=dict(policy='step', step=[1]),
               runner=dict(type='EpochBasedRunner', max_epochs=2))

    def optimizers(model):
        return dict(
            generator=torch.optim.SGD(model.generator.parameters(), lr=0.1),
            discriminator=torch.optim.SGD(model.discriminator.parameters(),
                                          lr=0.05))

    data = [(torch.randn(2),) for _ in range(6)]
    loader = torch.utils.data.DataLoader(data, batch_size=2)
    old = seeded(ToyGAN)
    legacy_run(tmp_path, old, cfg, loader, optimizer=optimizers(old))
    new = seeded(ToyGAN)
    wrappers = OptimWrapperDict(**{
        k: OptimWrapper(v) for k, v in optimizers(new).items()})
    seen = []

    class Look(legacy.Hook):
        def after_train_iter(self, runner):
            seen.append((runner.optimizer['generator'].param_groups[0]['lr'],
                         isinstance(runner.optimizer['generator'],
                                    torch.optim.SGD)))

    engine_run(tmp_path, new, cfg, loader, optim_wrapper=wrappers,
               custom_hooks=[Look()])
    assert_same_params(params(old), params(new))
    assert seen[0] == (0.1, True) and seen[-1][0] == pytest.approx(0.01)


def test_update_params_false_leaves_the_update_to_the_caller():
    model = compat.adapt(seeded(MMCVToyModel), update_params=False)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = params(model)
    out = model.train_step(next(iter(seed_loader())), wrapper)
    assert set(out) == {'loss', 'num_samples', 'log_vars'}
    assert_same_params(before, params(model))
    assert model.linear.weight.grad is None


def test_engine_call_returns_log_vars_with_their_weights():
    model = compat.adapt(seeded(MMCVToyModel))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    out = model.train_step(next(iter(regression_loader(3, 3))), wrapper)
    assert isinstance(out, LegacyLogVars) and set(out) == {'loss1', 'loss2'}
    assert out.weighted_scalars['loss1'] == (out['loss1'] * 3, 3)


def test_adapted_model_still_runs_on_a_legacy_call():
    model = compat.adapt(seeded(MMCVToyModel))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model.train_step(next(iter(seed_loader())), optimizer)
    assert set(out) == {'loss', 'num_samples', 'log_vars'}


class BadModel(nn.Module):

    def __init__(self, result):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.result = result

    def train_step(self, data, optimizer=None):
        return self.result(self.w)


@pytest.mark.parametrize('result, error, words', [
    (lambda w: w.sum(), TypeError, ['BadModel.train_step', 'dict',
                                    'Tensor']),
    (lambda w: dict(log_vars={}), KeyError, ['BadModel', 'no "loss"']),
    (lambda w: dict(loss=w * torch.ones(3)), ValueError,
     ['BadModel', 'shape (3,)', 'scalar']),
    (lambda w: dict(loss=1.5), ValueError, ['BadModel', 'float']),
    (lambda w: dict(loss=w.sum(), log_vars=dict(a=1.0)), KeyError,
     ['num_samples']),
])
def test_bad_train_step_outputs_name_the_model(result, error, words):
    model = compat.adapt(BadModel(result))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(error) as info:
        model.train_step([torch.ones(1)], wrapper)
    for word in words:
        assert word in str(info.value)


def test_adapt_rejects_what_it_cannot_run():
    with pytest.raises(TypeError, match='no train_step'):
        compat.adapt(nn.Linear(1, 1))
    with pytest.raises(TypeError, match='already an engine BaseModel'):
        compat.adapt(_Native())
    with pytest.raises(TypeError, match='update_params'):
        compat.adapt(MMCVToyModel(), update_params='yes')


class _Native(BaseModel):

    def forward(self, *args, mode='tensor'):
        return {}


def test_amp_self_optimizing_model_gets_a_clear_error():
    model = compat.adapt(seeded(ToyGAN))
    wrappers = OptimWrapperDict(
        generator=AmpOptimWrapper(
            optimizer=torch.optim.SGD(model.generator.parameters(), lr=0.1),
            dtype='bfloat16'),
        discriminator=AmpOptimWrapper(
            optimizer=torch.optim.SGD(model.discriminator.parameters(),
                                      lr=0.1),
            dtype='bfloat16'))
    with pytest.raises(RuntimeError, match='cannot scale its loss'):
        model.train_step([torch.randn(2, 2)], wrappers)


def test_val_step_gives_one_result_per_sample():
    model = compat.adapt(seeded(MMCVToyModel))
    batch = next(iter(regression_loader(3, 3)))
    results = model.val_step(batch)
    assert len(results) == 3
    assert results[0] is results[1]  # the batch's log_vars, shared
    assert results[0]['num_samples'] == 3
    assert per_sample(torch.arange(4).view(2, 2))[1].tolist() == [2, 3]
    assert per_sample([1, 2]) == [1, 2]
    split = per_sample(dict(pred=torch.arange(2), name=['a', 'b'], score=1.0))
    assert split == [dict(pred=torch.tensor(0), name='a', score=1.0),
                     dict(pred=torch.tensor(1), name='b', score=1.0)]


def test_workflow_val_metric_equals_the_legacy_val_log(tmp_path):
    """workflow [('train', 1), ('val', 1)]: the engine's LegacyLogVarsMetric
    gives the weighted val averages mmcv's val epoch logged."""
    cfg = dict(SEED_CFG, workflow=[('train', 1), ('val', 1)],
               runner=dict(type='EpochBasedRunner', max_epochs=1))
    model = seeded(MMCVToyModel)
    runner = engine_run(tmp_path, model, cfg, regression_loader(),
                        val_dataloader=regression_loader(10, 3, seed=1))
    reference = legacy.LogBuffer()
    with torch.no_grad():
        for batch in regression_loader(10, 3, seed=1):
            out = MMCVToyModel.val_step(model, batch)
            reference.update(out['log_vars'], out['num_samples'])
    reference.average()
    for key in ('loss1', 'loss2'):
        assert runner.message_hub.get_scalar(f'val/{key}').current() == \
            reference.output[key]


def test_copies_and_pickles_keep_the_adapted_class():
    model = compat.adapt(seeded(MMCVToyModel))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train_step(next(iter(seed_loader())), wrapper)
    clone = copy.deepcopy(model)
    assert type(clone) is type(model) and compat.is_adapted(clone)
    assert '_compat_proxy_cache' not in clone.__dict__  # no optimizer copy
    assert_same_params(params(model), params(clone))
    restored = pickle.loads(pickle.dumps(model))
    assert_same_params(params(model), params(restored))
    assert compat.adapt(model) is model


def test_wrappers_are_adapted_inside(tmp_path):
    inner = seeded(MMCVToyModel)
    wrapped = legacy.MMDataParallel(inner)
    assert compat.adapt(wrapped) is wrapped
    assert compat.is_adapted(wrapped) and compat.is_adapted(inner)


def _train(model, runner_model):
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    for batch in regression_loader(12, 4):
        out = runner_model.train_step(batch, wrapper)
    return out


def test_under_engine_ddp_equals_the_plain_run(tmp_path):
    """MMDistributedDataParallel's own train_step (forward(mode='loss')
    through DDP, then parse_losses) keeps the legacy loss semantics."""
    plain = compat.adapt(seeded(MMCVToyModel))
    _train(plain, plain)
    ddp_model = compat.adapt(seeded(MMCVToyModel))
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store',
                            rank=0, world_size=1)
    try:
        wrapped = MMDistributedDataParallel(ddp_model)
        out = _train(ddp_model, wrapped)
        # DDP's reducer must go before its process group, or gloo's
        # destructor waits forever
        del wrapped
        gc.collect()
    finally:
        dist.destroy_process_group()
    assert set(out) == {'loss1', 'loss2'}
    assert_same_params(params(plain), params(ddp_model))


def test_engine_runner_trains_a_legacy_wrapped_model(tmp_path):
    """legacy.MMDataParallel(model), adapted, on the engine Runner equals
    the unwrapped adapted model."""
    plain, inner = seeded(MMCVToyModel), seeded(MMCVToyModel)
    cfg = dict(SEED_CFG, runner=dict(type='EpochBasedRunner', max_epochs=1))
    engine_run(tmp_path, plain, cfg, regression_loader())
    engine_run(tmp_path, legacy.MMDataParallel(inner), cfg,
               regression_loader())
    assert_same_params(params(plain), params(inner))


def test_forward_modes_and_test_step():
    model = compat.adapt(seeded(MMCVToyModel))
    img, label = next(iter(regression_loader(3, 3)))
    assert len(model(img, label, mode='predict')) == 3
    raw = model(img, label, mode='tensor')
    assert set(raw) == {'loss', 'num_samples', 'log_vars'}
    assert model(img, label)['num_samples'] == 3  # the model's own forward
    assert len(model.test_step([img, label])) == 3  # falls back to val_step


@pytest.mark.cuda
def test_adapted_model_trains_on_cuda_with_amp(tmp_path):
    """The data preprocessor moves the legacy batch to the model's device
    and AmpOptimWrapper autocasts the legacy train_step."""
    model = seeded(MMCVToyModel).cuda()
    cfg = dict(SEED_CFG, runner=dict(type='EpochBasedRunner', max_epochs=1),
               fp16=dict(loss_scale='dynamic'))
    runner = engine_run(tmp_path, model, cfg, regression_loader())
    assert runner.message_hub.get_scalar('train/loss1').current() > 0
    assert model.linear.weight.device.type == 'cuda'


def test_compat_import_does_not_import_legacy():
    import subprocess
    import sys
    result = subprocess.run(
        [sys.executable, '-c', 'import sys, compat; '
         'print("legacy" in sys.modules, "mmcv" in sys.modules)'],
        capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ['False', 'False'], result.stderr


class _SelfInitModel(MMCVToyModel):

    def init_weights(self):
        nn.init.normal_(self.linear.weight)


def test_engine_runner_does_not_reinitialize_a_legacy_model(tmp_path):
    """The legacy runner never called init_weights; the engine runner does
    at the start of training, which an adapted model skips."""
    model = seeded(_SelfInitModel)
    model.init_weights()  # the training script's call, as before
    before = params(model)
    cfg = dict(SEED_CFG, runner=dict(type='EpochBasedRunner', max_epochs=1),
               optimizer=dict(type='SGD', lr=0.0))
    engine_run(tmp_path, model, cfg, seed_loader())
    assert_same_params(before, params(model))
