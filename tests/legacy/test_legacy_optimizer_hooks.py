"""The optimizer hooks: clipping, accumulation and mixed precision through the
engine's optimizer wrappers, seen from an mmcv training script."""
import logging

import pytest
import torch
import torch.nn as nn

import legacy
from engine.optim import AmpOptimWrapper, OptimWrapper
from legacy_scenarios import RegressionModel, regression_loader


def run(logger, tmp_path, optimizer_config, model=None, max_epochs=1,
        loader=None, lr=0.1, momentum=0.0, meta=None):
    """Train ``model`` (a model, or a model class built after seeding)
    with one optimizer hook; return the runner and the model."""
    torch.manual_seed(0)
    model = model or RegressionModel
    if isinstance(model, type):
        model = model()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    runner = legacy.EpochBasedRunner(
        model, optimizer=optimizer, work_dir=str(tmp_path), logger=logger,
        max_epochs=max_epochs, meta=meta)
    runner.register_training_hooks(
        lr_config=None, optimizer_config=optimizer_config)
    runner.run([loader or regression_loader()], [('train', 1)])
    return runner, model


def test_optimizer_hook_is_a_plain_sgd_loop(logger, tmp_path):
    runner, model = run(logger, tmp_path, dict())
    torch.manual_seed(0)
    reference = RegressionModel()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for x, y in regression_loader():
        optimizer.zero_grad()
        ((reference.linear(x) - y)**2).mean().backward()
        optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.equal(a, b)
    hook = runner.hooks[0]
    assert isinstance(hook.optim_wrapper, OptimWrapper)
    assert hook.optim_wrapper.optimizer is runner.optimizer


def test_grad_clip_clips_and_logs_grad_norm(logger, tmp_path):
    runner, model = run(
        logger, tmp_path, dict(grad_clip=dict(max_norm=0.5, norm_type=2)))
    torch.manual_seed(0)
    reference = RegressionModel()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    norms = []
    for x, y in regression_loader():
        optimizer.zero_grad()
        ((reference.linear(x) - y)**2).mean().backward()
        norms.append(
            float(nn.utils.clip_grad_norm_(reference.parameters(), 0.5)))
        optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.equal(a, b)
    buffer = runner.log_buffer
    assert buffer.val_history['grad_norm'] == norms
    assert buffer.n_history['grad_norm'] == [4, 4, 4, 4, 4, 2]


def test_accumulation_equals_the_large_batch_with_real_remainder(
        logger, tmp_path):
    # 22 samples in batches of 2: 11 iterations, groups of 4, 4 and 3
    loader = regression_loader(22, 2)
    runner, model = run(
        logger, tmp_path,
        dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4),
        loader=loader)
    torch.manual_seed(0)
    reference = RegressionModel()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    batches = list(loader)
    for group in (batches[0:4], batches[4:8], batches[8:11]):
        optimizer.zero_grad()
        for x, y in group:
            (((reference.linear(x) - y)**2).mean() / len(group)).backward()
        optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    hook = runner.hooks[0]
    assert hook.divisible_iters == 8 and hook.remainder_iters == 3
    assert hook.optim_wrapper.accumulative_counts == 4


def test_accumulation_warns_like_mmcv(tmp_path, caplog):
    logger = legacy.get_logger('legacy-test-accumulation-warnings')

    class WithBN(RegressionModel):

        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(1)

    with caplog.at_level(logging.WARNING,
                         logger='legacy-test-accumulation-warnings'):
        run(logger, tmp_path,
            dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4),
            model=WithBN(), loader=regression_loader(10, 2))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == ('GradientCumulativeOptimizerHook may slightly '
                           'decrease performance if the model has BatchNorm '
                           'layers.')
    assert messages[1:] == ['Loss will be divided by 1 in the last 1 '
                            'iterations because they are not enough for 4 '
                            'cumulative_iters.'] * 1


def test_bad_optimizer_hook_arguments():
    with pytest.raises(ValueError, match='positive int'):
        legacy.GradientCumulativeOptimizerHook(cumulative_iters=0)
    with pytest.raises(TypeError, match='grad_clip'):
        legacy.OptimizerHook(grad_clip=1.0)
    with pytest.raises(ValueError, match='loss_scale'):
        legacy.Fp16OptimizerHook(loss_scale='static')


def test_optimizer_hook_with_a_dict_of_optimizers(logger, tmp_path):
    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=dict(a=torch.optim.SGD(model.parameters(), lr=1)),
        logger=logger, max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    with pytest.raises(TypeError, match='optimizer_config=None'):
        runner.run([regression_loader()], [('train', 1)])


def test_detect_anomalous_params(tmp_path, caplog):

    class Unused(RegressionModel):

        def __init__(self):
            super().__init__()
            self.unused = nn.Linear(1, 1)

    logger = legacy.get_logger('legacy-test-anomalous')
    with caplog.at_level(logging.ERROR, logger='legacy-test-anomalous'):
        run(logger, tmp_path, dict(detect_anomalous_params=True),
            model=Unused(), loader=regression_loader(4, 4))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        'unused.weight with shape torch.Size([1, 1]) is not in the '
        'computational graph \n',
        'unused.bias with shape torch.Size([1]) is not in the '
        'computational graph \n'
    ]


# ------------------------------------------------------------ fp16 (CPU)
class HalfModel(RegressionModel):
    """A model with mmcv's mixed-precision decorators."""

    def __init__(self):
        super().__init__()
        self.fp16_enabled = False
        self.dtypes = []

    @legacy.auto_fp16(apply_to=('x', ))
    def forward(self, x):
        out = self.linear(x)
        self.dtypes.append(out.dtype)
        return out

    @legacy.force_fp32(apply_to=('pred', ))
    def loss(self, pred, y):
        self.dtypes.append(pred.dtype)
        return ((pred - y)**2).mean()

    def train_step(self, data, optimizer=None):
        x, y = data
        loss = self.loss(self(x), y)
        return dict(loss=loss, log_vars=dict(loss=loss.item()),
                    num_samples=len(x))


def _close_to_fp32(model, reference, tolerance):
    for p, r in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, r, rtol=0, atol=tolerance)


@pytest.mark.parametrize('dtype,tolerance', [(torch.float16, 1e-3),
                                             (torch.bfloat16, 1e-2)])
def test_fp16_optimizer_hook_trains_on_cpu(logger, tmp_path, dtype,
                                           tolerance):
    _, reference = run(logger, tmp_path / 'fp32', dict(), max_epochs=2)
    torch.manual_seed(0)
    initial = [p.detach().clone() for p in HalfModel().parameters()]
    runner, model = run(
        logger, tmp_path / 'fp16',
        dict(type='Fp16OptimizerHook', loss_scale=512., dtype=dtype,
             grad_clip=dict(max_norm=100.)),
        model=HalfModel, max_epochs=2)
    hook = runner.hooks[0]
    assert isinstance(hook.optim_wrapper, AmpOptimWrapper)
    assert model.fp16_enabled and model.fp16_dtype == dtype
    # forward in the half dtype, loss in float32, weights kept in float32
    assert model.dtypes[:2] == [dtype, torch.float32]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not any(torch.equal(p, i)
                   for p, i in zip(model.parameters(), initial))
    _close_to_fp32(model, reference, tolerance)
    assert runner.meta['fp16']['loss_scaler']['scale'] == 512.
    assert len(runner.log_buffer.val_history['grad_norm']) == 12


def test_fp16_dynamic_scale_is_saved_and_resumed(logger, tmp_path):
    fp16 = dict(type='Fp16OptimizerHook', loss_scale='dynamic',
                dtype='bfloat16')
    runner, _ = run(logger, tmp_path / 'a', fp16, model=HalfModel(),
                    meta=dict())
    # bfloat16 does not overflow here: the default scale is kept
    assert runner.meta['fp16']['loss_scaler']['scale'] == 2.**16
    runner.save_checkpoint(str(tmp_path / 'a'))
    ckpt = torch.load(tmp_path / 'a' / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['fp16']['loss_scaler']['scale'] == 2.**16

    model = HalfModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path / 'b'), logger=logger, max_epochs=3)
    runner.register_training_hooks(
        lr_config=None,
        optimizer_config=dict(fp16, loss_scale=dict(growth_interval=1)))
    runner.resume(str(tmp_path / 'a' / 'epoch_2.pth'))
    runner.run([regression_loader(8, 4)], [('train', 1)])
    # the resumed scaler state (its growth interval too) continues: two
    # more steps without overflow after 6, no growth before 2000
    state = runner.meta['fp16']['loss_scaler']
    assert state['scale'] == 2.**16 and state['_growth_tracker'] == 8


def test_fp16_skips_a_step_with_inf_gradients(logger, tmp_path):

    class Overflow(HalfModel):

        def train_step(self, data, optimizer=None):
            outputs = super().train_step(data)
            outputs['loss'] = outputs['loss'] * float('inf')
            return outputs

    model = Overflow()
    before = [p.detach().clone() for p in model.parameters()]
    # an infinite loss stops training by default; nonfinite_loss=None
    # trains on as mmcv does, leaving the overflow to the loss scaler
    runner, _ = run(logger, tmp_path,
                    dict(type='Fp16OptimizerHook', loss_scale='dynamic',
                         nonfinite_loss=None),
                    model=model, loader=regression_loader(4, 4))
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b)
    assert runner.meta['fp16']['loss_scaler']['scale'] == 2.**15


@pytest.mark.parametrize('dtype,tolerance', [('float16', 1e-3),
                                             ('bfloat16', 1e-2)])
def test_gradient_cumulative_fp16_hook_trains_on_cpu(logger, tmp_path, dtype,
                                                     tolerance):
    loader = regression_loader(22, 2)
    _, reference = run(
        logger, tmp_path / 'fp32',
        dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4),
        max_epochs=2, loader=loader)
    runner, model = run(
        logger, tmp_path / 'fp16',
        dict(type='GradientCumulativeFp16OptimizerHook', cumulative_iters=4,
             loss_scale=256., dtype=dtype),
        model=HalfModel, max_epochs=2, loader=loader)
    hook = runner.hooks[0]
    assert isinstance(hook.optim_wrapper, AmpOptimWrapper)
    assert hook.optim_wrapper.accumulative_counts == 4
    assert hook.remainder_iters == 2  # 22 iterations in groups of 4
    assert model.dtypes[0] == getattr(torch, dtype)
    assert all(p.grad is None for p in model.parameters())
    _close_to_fp32(model, reference, tolerance)


def _seeded_half() -> 'HalfModel':
    torch.manual_seed(0)
    return HalfModel()


@pytest.mark.cuda
def test_fp16_optimizer_hook_trains_on_cuda(logger, tmp_path):
    model = HalfModel().cuda()

    loader = [(x.cuda(), y.cuda()) for x, y in regression_loader()]
    runner, _ = run(logger, tmp_path,
                    dict(type='Fp16OptimizerHook', loss_scale='dynamic'),
                    model=model, loader=loader, max_epochs=2)
    assert model.dtypes[0] == torch.float16
    assert runner.meta['fp16']['loss_scaler']['scale'] > 0


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_fp16_on_cuda_equals_the_adapted_model_on_the_engine(
        logger, tmp_path, dtype):
    """Mixed precision on the GPU, one model two ways: the legacy runner's
    Fp16OptimizerHook and, through compat.adapt and migrate_config, the
    engine's AmpOptimWrapper. Same kernels in the same order: the same
    bits."""
    import compat
    from engine.runner import Runner
    if dtype == 'bfloat16' and not torch.cuda.is_bf16_supported():
        pytest.skip('bfloat16 unsupported on this GPU')
    fp16 = dict(loss_scale='dynamic', dtype=dtype)
    loader = [(x.cuda(), y.cuda()) for x, y in regression_loader()]
    _, old = run(logger, tmp_path / 'legacy',
                 dict(type='Fp16OptimizerHook', **fp16),
                 model=_seeded_half().cuda(), loader=loader, max_epochs=2)
    new = _seeded_half().cuda()
    kwargs = compat.migrate_config(dict(
        optimizer=dict(type='SGD', lr=0.1), optimizer_config=dict(),
        fp16=fp16, runner=dict(type='EpochBasedRunner', max_epochs=2),
        checkpoint_config=None))
    Runner(model=compat.adapt(new), work_dir=str(tmp_path / 'engine'),
           train_dataloader=loader,
           experiment_name=f'cuda_{dtype}_{tmp_path.name}',
           **kwargs).train()
    assert old.dtypes[0] == new.dtypes[0] == getattr(torch, dtype)
    for a, b in zip(old.parameters(), new.parameters()):
        assert a.device.type == b.device.type == 'cuda'
        assert torch.equal(a, b)
