"""The overhead arithmetic, fed with synthetic clocks (no timing involved)."""
import pytest

from benchlib import overhead_jobs as oj


def fake_path(step: float, boundary: float = 0.0, spike_at: int = -1):
    """A 'runner' whose iteration stamps follow a synthetic clock."""

    def build(batches, epochs, work_dir, stamps):
        def train():
            clock = 0.0
            for epoch in range(epochs):
                if epoch:
                    clock += boundary
                for i, _ in enumerate(batches):
                    if stamps is not None:
                        stamps.append(clock)
                    clock += step * (50 if i == spike_at else 1)
        return train
    return build


def test_ratio_is_the_per_iteration_cost_over_the_plain_loop():
    paths = dict(plain=fake_path(1e-4), runner=fake_path(1.02e-4, spike_at=7))
    out = oj.per_iteration(paths, list(range(40)), window=5, repeats=2)
    assert out['plain']['ratio'] == pytest.approx(1.0)
    # One preempted window is outvoted by the median of windows.
    assert out['runner']['ratio'] == pytest.approx(1.02)
    assert out['runner']['overhead_us'] == pytest.approx(2.0)
    assert len(out["runner"]["ratios"]) == 2


def test_a_path_that_skips_iterations_is_an_error():
    def short(batches, epochs, work_dir, stamps):
        return fake_path(1e-4)(batches[:-1], epochs, work_dir, stamps)
    with pytest.raises(RuntimeError, match='trained 39 of 40'):
        oj.per_iteration(dict(plain=fake_path(1e-4), bad=short),
                         list(range(40)), window=5, repeats=1)


def test_window_must_fit_the_run():
    with pytest.raises(ValueError, match='window of 10'):
        oj.window_median([0.0, 1.0, 2.0], 10)


def test_epoch_transition_prices_the_boundary_only():
    paths = dict(plain=fake_path(1e-3), runner=fake_path(1e-3, boundary=4e-3))
    out = oj.epoch_transition(paths, list(range(50)), epochs=5, per_epoch=10,
                              repeats=2, epochs_for=dict(runner=3))
    assert out['plain'] == pytest.approx(0.0, abs=1e-9)
    assert out['runner'] == pytest.approx(4.0)


def test_memory_growth_beyond_the_plain_loop_is_reported():
    kept = []

    def leaky(batches, epochs, work_dir, stamps):
        def train():
            for _ in batches:
                kept.append(bytearray(200))
        return train

    out = oj.memory(dict(plain=fake_path(1e-4), leaky=leaky),
                    list(range(400)), (100, 400))
    assert out['plain']['excess_bytes_per_iter'] == 0
    assert out['leaky']['bytes_per_iter'] >= 200
    assert out['leaky']['excess_bytes_per_iter'] >= 150


def test_plain_loop_stamps_every_iteration_of_every_epoch():
    workload = oj.WORKLOADS['tiny']
    batches = oj.make_batches(workload, 30)
    stamps = oj.Stamps('cpu')
    oj.plain_path(workload)(batches, 2, '.', stamps)()
    assert len(stamps) == 60
    assert stamps == sorted(stamps)


def test_prebatched_loader_hands_out_the_batches_unchanged():
    batches = oj.make_batches(oj.WORKLOADS['cnn'], 3)
    got = list(oj.prebatched_loader(batches))
    assert len(got) == 3
    assert all(a[0] is b[0] and a[1] is b[1] for a, b in zip(got, batches))


class _HistoryRunner:
    """Keeps one float per iteration in a MessageHub history, read every 10
    iterations as a logger does, and optionally leaks 200 bytes per
    iteration besides."""

    def __init__(self, batches, leak):
        from engine.logging import MessageHub
        self.batches, self.leak, self.kept = batches, leak, []
        self.message_hub = MessageHub(f'bench-history-{id(self)}')

    def train(self):
        for i, _ in enumerate(self.batches):
            self.message_hub.update_scalar('train/loss', float(i))
            if i % 10 == 9:  # the logger's reads
                self.message_hub.get_scalar('train/loss').mean(10)
            if self.leak:
                self.kept.append(bytearray(200))


def test_kept_history_is_told_apart_from_a_leak():
    import overhead

    def path(leak):
        def build(batches, epochs, work_dir, stamps):
            return _HistoryRunner(batches, leak).train
        return build

    out = oj.memory(dict(plain=fake_path(1e-4), history=path(False),
                         leaky=path(True)), list(range(4000)), (1000, 4000))
    history = out['history']
    assert history['history_bytes_per_iter'] == pytest.approx(8, rel=0.3)
    assert overhead.memory_verdict(history) == 'history'
    assert overhead.memory_verdict(out['leaky']) == 'GROWS'
    assert overhead.memory_verdict(out['plain']) == 'flat'
