"""The benchmark's models: native ports must be comparable key by key and
bit by bit with the legacy models they port."""
import pytest
import torch

from benchlib import models
from engine.model import BaseModel


@pytest.mark.parametrize('key', sorted(models.WORKLOADS))
def test_native_port_has_the_legacy_parameter_names(key):
    workload = models.WORKLOADS[key]
    state = models.initial_state(workload)
    native = models.load_initial(workload.make_native(BaseModel), state)
    assert set(native.state_dict()) == set(state)
    for name, value in native.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_load_initial_refuses_a_port_with_other_names():
    with pytest.raises(RuntimeError, match='missing'):
        models.load_initial(torch.nn.Linear(1, 1),
                            {'linear.weight': torch.zeros(1, 1)})


@pytest.mark.parametrize('scale', ['toy', 'cnn'])
def test_native_loss_is_the_legacy_loss_bitwise(scale):
    workload = models.WORKLOADS[('single', scale)]
    state = models.initial_state(workload)
    legacy = models.load_initial(workload.make_legacy(), state)
    native = models.load_initial(workload.make_native(BaseModel), state)
    batch = next(iter(torch.utils.data.DataLoader(
        workload.make_data(), batch_size=workload.batch_size)))
    old = legacy.train_step(batch)['loss']
    parsed, _ = native.parse_losses(native(*batch, mode='loss'))
    assert torch.equal(parsed, old)
    assert torch.equal(native.loss_trace[-1], legacy.loss_trace[-1])


def test_gan_noise_does_not_depend_on_the_global_rng():
    workload = models.WORKLOADS[('gan', 'toy')]
    real = torch.zeros(4, 2)
    torch.manual_seed(1)
    first = workload.make_legacy()._z(real)
    torch.manual_seed(2)
    torch.randn(100)
    second = workload.make_legacy()._z(real)
    assert torch.equal(first, second)


def test_gan_records_both_losses_per_iteration():
    workload = models.WORKLOADS[('gan', 'toy')]
    model = workload.make_legacy()
    batch = next(iter(torch.utils.data.DataLoader(
        workload.make_data(), batch_size=workload.batch_size)))
    optims = {name: torch.optim.SGD(getattr(model, name).parameters(), lr=0.1)
              for name in ('generator', 'discriminator')}
    out = model.train_step(batch, optims)
    assert set(out['log_vars']) == {'loss_disc', 'loss_gen'}
    assert model.loss_trace[-1].shape == (2,)


def test_auto_fp16_variant_keeps_weights_and_sets_the_flag():
    calls = []

    def auto_fp16(apply_to=None):
        def wrap(fn):
            def inner(self, *args, **kwargs):
                calls.append(apply_to)
                return fn(self, *args, **kwargs)
            return inner
        return wrap

    workload = models.WORKLOADS[('single', 'toy')]
    model = models.with_auto_fp16(workload.make_legacy(), auto_fp16)
    assert model.fp16_enabled is False
    assert isinstance(model, models.LegacyToy)
    model.train_step(next(iter(torch.utils.data.DataLoader(
        workload.make_data(), batch_size=2))))
    assert calls == [('img',)]
