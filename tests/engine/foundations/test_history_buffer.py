"""HistoryBuffer: mmengine's numbers, bounded length, lazy tensor reads."""
import numpy as np
import pytest
import torch

from engine.logging import HistoryBuffer, MessageHub

from .conftest import load_fixture

from history_cases import history_inputs, history_queries  # noqa: E402

RECORDED = load_fixture('history_buffer.json')


class CountingTensor(torch.Tensor):
    """A tensor that counts how often values are read on the host (on the
    CPU one ``item()`` each; on a device one ``tolist()`` for a stack)."""

    reads = 0

    def item(self):
        type(self).reads += 1
        return super().item()

    def tolist(self):
        type(self).reads += 1
        return super().tolist()


def counting(value):
    return torch.tensor(value).as_subclass(CountingTensor)


def test_statistics_equal_mmengine_bitwise(unique_name):
    hub = MessageHub.get_instance(unique_name)
    for key, value, count in history_inputs(torch, np):
        hub.update_scalar(key, value, count)
    ours = []
    for key, method, args in history_queries():
        value = getattr(hub.get_scalar(key), method)(*args)
        ours.append([key, method, args, type(value).__name__, value.item()])
    buffer = HistoryBuffer()
    buffer.update(3)
    value = buffer.current()
    ours.append(['<empty then 3>', 'current', [], type(value).__name__,
                 value.item()])
    assert ours == RECORDED


def test_tensors_are_read_only_when_a_statistic_is_asked():
    CountingTensor.reads = 0
    buffer = HistoryBuffer()
    for i in range(5):
        buffer.update(counting(float(i)))
    assert CountingTensor.reads == 0
    assert buffer.mean() == 2.0
    assert CountingTensor.reads == 5
    buffer.update(counting(10.0))
    assert buffer.current() == 10.0 and buffer.max() == 10.0
    assert CountingTensor.reads == 6


def test_message_hub_does_not_read_tensors_on_update(unique_name):
    CountingTensor.reads = 0
    hub = MessageHub.get_instance(unique_name)
    for i in range(4):
        hub.update_scalar('train/loss', counting(float(i)))
        hub.update_scalars({'train/acc': counting(0.5)})
    assert CountingTensor.reads == 0
    assert hub.get_scalar('train/loss').mean(2) == 2.5
    assert CountingTensor.reads == 4


def test_tensors_requiring_grad_are_detached():
    weight = torch.tensor(2.0, requires_grad=True)
    buffer = HistoryBuffer()
    buffer.update(weight * 3)
    assert not buffer._pending_logs[0].requires_grad
    assert buffer.current() == 6.0


def test_bounded_at_max_length_with_pending_and_converted_values():
    buffer = HistoryBuffer(max_length=3)
    for i in range(5):
        buffer.update(torch.tensor(float(i)))
    assert len(buffer) == 3
    assert buffer.data[0].tolist() == [2.0, 3.0, 4.0]
    buffer.update(5)
    buffer.update(torch.tensor(6.0))
    logs, counts = buffer.data
    assert logs.tolist() == [4.0, 5.0, 6.0] and counts.tolist() == [1, 1, 1]
    assert buffer.mean() == 5.0


def test_initial_history_and_its_length_check():
    buffer = HistoryBuffer([1, 2, 3], [1, 1, 2], max_length=2)
    assert buffer.data[0].tolist() == [2, 3]
    assert buffer.mean() == 5 / 3
    with pytest.raises(ValueError, match='same length'):
        HistoryBuffer([1], [])


@pytest.mark.parametrize('value, error', [
    ('1.0', TypeError),
    ([1.0], TypeError),
    (torch.ones(2), ValueError),
    (np.ones(3), ValueError),
])
def test_bad_values_are_rejected_at_update(value, error):
    with pytest.raises(error, match='one'):
        HistoryBuffer().update(value)


def test_bad_count_and_window():
    buffer = HistoryBuffer([1.0], [1])
    with pytest.raises(TypeError, match='count'):
        buffer.update(1.0, count='2')
    with pytest.raises(TypeError, match='window_size'):
        buffer.mean(2.5)


def test_current_of_empty_buffer_is_an_error():
    with pytest.raises(ValueError, match='empty'):
        HistoryBuffer().current()


def test_custom_statistics_are_registered_once():

    def foundations_last_sum(self, n):
        return self.data[0][-n:].sum()

    HistoryBuffer.register_statistics(foundations_last_sum)
    try:
        buffer = HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1])
        assert buffer.statistics('foundations_last_sum', 2) == 5.0
        assert buffer.statistics('mean') == 2.0
        with pytest.raises(KeyError, match='registered'):
            HistoryBuffer.register_statistics(foundations_last_sum)
        with pytest.raises(KeyError, match='median'):
            buffer.statistics('median')
    finally:
        HistoryBuffer._statistics_methods.pop('foundations_last_sum')


def test_state_dict_round_trip_keeps_dtype():
    buffer = HistoryBuffer([1, 2], [1, 3], max_length=10)
    restored = HistoryBuffer.from_state_dict(buffer.state_dict())
    assert restored.data[0].dtype == np.int64
    assert restored.max_length == 10
    restored.update(0.5)
    assert restored.data[0].tolist() == [1.0, 2.0, 0.5]
    with pytest.raises(ValueError, match='log_history'):
        HistoryBuffer.from_state_dict({'counts': []})


def _reference_stats(values, counts, window):
    """mmengine's arithmetic on the whole history: numpy arrays of every
    value and count, the window's sums divided."""
    logs = np.array([float(v) if isinstance(v, torch.Tensor) else v
                     for v in values])
    nums = np.array(counts)
    return (np.sum(logs[-window:]) / np.sum(nums[-window:]), logs[-1])


@pytest.mark.parametrize('seed', range(40))
def test_random_updates_and_reads_equal_mmengine(seed, unique_name):
    """Values wait unread until a statistic is asked for, then join the
    history arrays; any mix of floats, ints, tensors, counts and read
    points must give mmengine's numbers and types, bit for bit, through the
    message hub's fast path for floats too."""
    import random
    rng = random.Random(seed)
    hub = MessageHub.get_instance(f'{unique_name}-{seed}')
    values, counts = [], []
    for step in range(rng.randint(1, 300)):
        kind = rng.random()
        if kind < 0.6:
            value = rng.uniform(-1e3, 1e3)
        elif kind < 0.75:
            value = torch.tensor(rng.uniform(-1, 1), dtype=torch.float64)
        elif kind < 0.85:
            value = torch.tensor(rng.uniform(-1, 1))  # float32
        else:
            value = rng.randint(-5, 5)
        count = 1 if rng.random() < 0.9 else rng.randint(2, 4)
        hub.update_scalar('train/x', value, count)
        values.append(value.item() if isinstance(value, torch.Tensor)
                      else value)
        counts.append(count)
        if rng.random() < 0.15:
            buffer = hub.get_scalar('train/x')
            window = rng.choice([1, 3, 8, 9, 10, 17, len(values)])
            mean, current = _reference_stats(values, counts, window)
            got_mean, got_current = buffer.mean(window), buffer.current()
            assert got_mean == mean or (np.isnan(got_mean) and np.isnan(mean))
            assert type(got_mean) is type(mean)
            assert got_current == current
            assert type(got_current) is type(current)
    logs, nums = hub.get_scalar('train/x').data
    assert logs.tolist() == np.array(values).tolist()
    assert nums.tolist() == counts
