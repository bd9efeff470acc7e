"""HistoryBuffer storage: growing arrays that give mmengine's numbers.

mmengine appends each value with ``np.append``; ours writes into arrays with
spare room and converts pending values in batches. These tests replay the
same updates into a literal ``np.append`` history and compare bit for bit.
"""
import random

import numpy as np
import pytest
import torch

from engine.logging import HistoryBuffer, MessageHub, ScaledValue
from engine.logging import history_buffer as hb


class AppendHistory:
    """mmengine's storage: one ``np.append`` per update, trimmed."""

    def __init__(self, logs=(), counts=(), max_length=1000000):
        self.logs = np.array(list(logs)[-max_length:])
        self.counts = np.array(list(counts)[-max_length:])
        self.max_length = max_length

    def update(self, value, count=1):
        self.logs = np.append(self.logs, value)[-self.max_length:]
        self.counts = np.append(self.counts, count)[-self.max_length:]

    def mean(self, window):
        return self.logs[-window:].sum() / self.counts[-window:].sum()


def same(a, b):
    """Equal values and types, NaN-safe, bit for bit."""
    return type(a) is type(b) and np.asarray(a).tobytes() == np.asarray(
        b).tobytes()


@pytest.mark.parametrize('max_length', [5, 37, 1000000])
@pytest.mark.parametrize('initial', [(), ([3, 4], [1, 2]), ([3.5], [1])])
@pytest.mark.parametrize('ones', [True, False])
def test_replayed_history_equals_np_append_bitwise(max_length, initial, ones):
    rng = random.Random(max_length)
    ours = HistoryBuffer(*initial, max_length=max_length)
    ref = AppendHistory(*initial, max_length=max_length)
    for step in range(400):
        kind = rng.random()
        if kind < 0.5:
            value = rng.uniform(-1e3, 1e3) * 10**rng.randint(-8, 8)
        elif kind < 0.7:
            value = rng.randint(-50, 50)
        else:
            value = torch.tensor(rng.uniform(-2, 2), dtype=torch.float32)
        # all ones (the usual case, stored implicitly) or, from some step
        # on, other counts too
        count = 1 if ones or step < 200 else rng.randint(1, 4)
        ours.update(value, count)
        ref.update(value.item() if isinstance(value, torch.Tensor) else value,
                   count)
        if rng.random() < 0.15:  # reads at irregular intervals
            window = rng.choice([1, 3, 10, 50, 1000])
            assert same(ours.mean(window), ref.mean(window)), step
            assert same(ours.current(), ref.logs[-1])
            assert same(ours.max(window), ref.logs[-window:].max())
            assert same(ours.min(window), ref.logs[-window:].min())
    logs, counts = ours.data
    assert logs.dtype == ref.logs.dtype and counts.dtype == ref.counts.dtype
    assert logs.tobytes() == ref.logs.tobytes()
    assert counts.tobytes() == ref.counts.tobytes()
    assert len(ours) == len(ref.logs)


def test_integer_history_widens_like_np_append():
    ours, ref = HistoryBuffer([1, 2], [1, 1]), AppendHistory([1, 2], [1, 1])
    assert ours.current().dtype == np.int64
    for value in (3, True, 4.5, 6):
        ours.update(value)
        ref.update(value)
        assert ours.data[0].dtype == ref.logs.dtype
    assert ours.data[0].tolist() == ref.logs.tolist()
    empty = HistoryBuffer()
    empty.update(3)
    assert empty.current().dtype == np.float64  # np.array([]) is float64


def test_arrays_handed_out_never_change():
    buffer = HistoryBuffer(max_length=4)
    for i in range(3):
        buffer.update(float(i))
    logs, counts = buffer.data
    snapshot = logs.copy()
    for i in range(3, 40):
        buffer.update(float(i))
        buffer.current()
    assert np.array_equal(logs, snapshot)
    assert buffer.data[0].tolist() == [36.0, 37.0, 38.0, 39.0]


def test_long_run_keeps_tensors_pending_only_briefly():
    buffer = HistoryBuffer()
    for i in range(hb.PENDING_LIMIT + 5):
        buffer.update(torch.tensor(float(i)))
    # converted once the limit was reached, without any statistic asked
    assert len(buffer._pending_logs) == 5
    assert buffer.current() == hb.PENDING_LIMIT + 4
    assert len(buffer) == hb.PENDING_LIMIT + 5


class DeviceTensor(torch.Tensor):
    """A CPU tensor that claims to live on a device, and counts reads."""

    reads = 0

    @property
    def is_cpu(self):
        return False

    def item(self):
        type(self).reads += 1
        return super().item()

    def tolist(self):
        type(self).reads += 1
        return super().tolist()


def test_device_tensors_are_read_in_one_go():
    DeviceTensor.reads = 0
    values = [torch.tensor(v).as_subclass(DeviceTensor)
              for v in (0.1, 0.2, 0.3)]
    buffer = HistoryBuffer()
    buffer.update(values[0])
    buffer.update(1.5)
    buffer.update(ScaledValue(values[1], 3))
    buffer.update(values[2])
    logs, _ = buffer.data
    assert DeviceTensor.reads == 1
    assert logs.tolist() == [values[0].item(), 1.5,
                             values[1].item() * 3, values[2].item()]


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16,
                                   torch.float64, torch.int64, torch.bool])
def test_scaled_value_is_the_float64_tensor_product(dtype):
    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(50, generator=gen) * 1e3
    values = raw.to(dtype) if dtype.is_floating_point else (
        raw > 0 if dtype == torch.bool else raw.to(dtype))
    counts = torch.randint(1, 300, (50, ), generator=gen).tolist()
    buffer = HistoryBuffer()
    expected = []
    for value, count in zip(values, counts):
        buffer.update(ScaledValue(value, count), count)
        expected.append((value.to(torch.float64) * count).item())
    logs, stored_counts = buffer.data
    assert logs.dtype == np.float64
    assert logs.tolist() == expected
    assert buffer.mean(7) == np.array(expected[-7:]).sum() / np.array(
        counts[-7:], dtype=np.float64).sum()


def test_scaled_value_goes_through_the_message_hub(unique_name):
    hub = MessageHub.get_instance(unique_name)
    loss = torch.tensor(0.7, requires_grad=True) * 2
    hub.update_scalar('train/loss', ScaledValue(loss, 4), count=4)
    pending = hub.get_scalar('train/loss')._pending_logs[0]
    assert not pending.value.requires_grad  # no graph kept until the log
    expected = (loss.double() * 4).item() / 4
    assert hub.get_scalar('train/loss').mean() == expected
    with pytest.raises(ValueError, match='one element'):
        ScaledValue(torch.ones(2), 3)
