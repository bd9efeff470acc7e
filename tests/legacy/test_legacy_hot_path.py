"""The per-iteration shortcuts of the legacy path give mmcv's results.

LogBuffer averages short runs in Python, the text logger rounds numpy
averages without numpy, and the dispatcher calls mmcv's generic hook methods
(``before_iter``...) directly: each must be indistinguishable from what mmcv
computes with numpy and calls through ``Hook.before_train_iter``.
"""
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import legacy
from legacy.hooks.logger.text import _round5
from legacy_scenarios import RegressionModel, regression_loader

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
any_float = st.floats(width=64)
counts = st.integers(min_value=0, max_value=1000)


def mmcv_average(values, nums):
    """mmcv 1.7.2's LogBuffer.average for one key."""
    values, nums = np.array(values), np.array(nums)
    return np.sum(values * nums) / np.sum(nums)


def same(a, b) -> bool:
    """Equal type, value, sign and NaN-ness."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def averaged(values, nums, n=0):
    buffer = legacy.LogBuffer()
    for value, num in zip(values, nums):
        buffer.update({'x': value}, num)
    buffer.average(n)
    return buffer.output['x']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(finite, counts), min_size=1, max_size=40),
       st.integers(min_value=0, max_value=45))
def test_average_is_mmcv_numpy_bit_for_bit(pairs, n):
    values, nums = [v for v, _ in pairs], [c for _, c in pairs]
    window = slice(-n, None) if n else slice(None)
    with np.errstate(all='ignore'):
        expected = mmcv_average(values[window], nums[window])
        assert same(averaged(values, nums, n), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(any_float, counts), min_size=1, max_size=24))
def test_average_with_nan_inf_and_zero_counts_is_mmcv(pairs):
    values, nums = [v for v, _ in pairs], [c for _, c in pairs]
    with np.errstate(all='ignore'):
        assert same(averaged(values, nums), mmcv_average(values, nums))


@pytest.mark.parametrize('values, nums', [
    ([1, 2, 3], [1, 1, 2]),                      # int values: numpy's int path
    ([0.5, 2], [8, 8]),                          # mixed int and float
    ([np.float32(0.1), 0.2], [3, 4]),            # a float32 scalar
    ([np.float64(0.1), 0.2, 0.7], [3, 4, 1]),    # float64 scalars
    ([0.25, 0.5], [True, 2]),                    # a bool count
    ([0.25, 0.5], [np.int64(3), 2]),             # a numpy count
    ([0.25, 0.5], [2.0, 3]),                     # a float count
    ([-0.0, -0.0], [1, 1]),                      # signed zeros
    ([1e308, 1e308], [8, 8]),                    # overflow: inf in mmcv too
    ([0.1] * 30, [8] * 30),                      # longer than the Python path
])
def test_average_of_other_types_is_mmcv(values, nums):
    with np.errstate(all='ignore'):
        assert same(averaged(values, nums), mmcv_average(values, nums))


def test_average_of_tensor_values_is_mmcv():
    gen = torch.Generator().manual_seed(0)
    losses = [torch.rand((), generator=gen) * 10 for _ in range(13)]
    nums = [8] * 12 + [3]
    expected = mmcv_average([t.item() for t in losses], nums)
    assert same(averaged(losses, nums), expected)
    assert same(averaged(losses, nums, 10),
                mmcv_average([t.item() for t in losses[-10:]], nums[-10:]))


@settings(max_examples=500, deadline=None)
@given(any_float)
def test_json_rounding_of_averages_is_numpy_round(value):
    with np.errstate(all='ignore'):
        expected = json.dumps(round(np.float64(value), 5))
        assert json.dumps(_round5(np.float64(value))) == expected


@pytest.mark.parametrize('value', [2.675, 1.000005, 0.000015, -2.5e-05,
                                   123456.123455, 1e-320])
def test_json_rounding_ties_follow_numpy_not_python(value):
    # numpy: rint(x * 1e5) / 1e5; Python's round() differs on some of these
    assert json.dumps(_round5(np.float64(value))) == json.dumps(
        round(np.float64(value), 5))
    assert json.dumps(_round5(value)) == json.dumps(round(value, 5))


class Recorder(legacy.Hook):
    """mmcv-style hook overriding only the generic methods."""

    def __init__(self, calls, tag):
        self.calls, self.tag = calls, tag

    def before_epoch(self, runner):
        self.calls.append((self.tag, 'before_epoch', runner.mode))

    def before_iter(self, runner):
        self.calls.append((self.tag, 'before_iter', runner.mode))

    def after_iter(self, runner):
        self.calls.append((self.tag, 'after_iter', runner.mode))


class TrainOnly(Recorder):
    """Overrides a stage itself: the stage, not the helper, must run."""

    def before_train_iter(self, runner):
        self.calls.append((self.tag, 'before_train_iter', runner.mode))


def test_generic_hook_methods_run_where_mmcv_runs_them(logger, tmp_path):
    calls = []
    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    runner.register_hook(Recorder(calls, 'low'), 'LOW')
    runner.register_hook(TrainOnly(calls, 'high'), 'HIGH')
    runner.run([regression_loader(4, 2), regression_loader(4, 2)],
               [('train', 1), ('val', 1)])
    iteration = [('high', 'before_train_iter', 'train'),
                 ('low', 'before_iter', 'train'),
                 ('high', 'after_iter', 'train'),
                 ('low', 'after_iter', 'train')]
    validation = [('high', 'before_iter', 'val'),
                  ('low', 'before_iter', 'val'),
                  ('high', 'after_iter', 'val'),
                  ('low', 'after_iter', 'val')]
    assert calls == ([('high', 'before_epoch', 'train'),
                      ('low', 'before_epoch', 'train')] + iteration * 2 +
                     [('high', 'before_epoch', 'val'),
                      ('low', 'before_epoch', 'val')] + validation * 2)


def test_subclassed_timer_hook_keeps_its_override(logger, tmp_path):
    seen = []

    class CountingTimer(legacy.IterTimerHook):
        def before_iter(self, runner):
            seen.append(runner.iter)
            super().before_iter(runner)

    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=2)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(),
                                   timer_config=CountingTimer())
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert seen == [0, 1, 2, 3]
    assert len(runner.log_buffer.val_history['data_time']) == 4


@pytest.mark.parametrize('runner_type', ['EpochBasedRunner',
                                         'IterBasedRunner'])
def test_an_overridden_call_hook_sees_every_stage(logger, tmp_path,
                                                  runner_type):
    stages = []

    class Tracing(getattr(legacy, runner_type)):
        def call_hook(self, fn_name):
            stages.append(fn_name)
            super().call_hook(fn_name)

    model = RegressionModel()
    length = dict(max_epochs=1) if runner_type == 'EpochBasedRunner' \
        else dict(max_iters=2)
    runner = Tracing(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, **length)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([regression_loader(4, 2)], [('train', 1)])
    per_iter = [s for s in stages if s.endswith('_train_iter')]
    assert per_iter == ['before_train_iter', 'after_train_iter'] * 2


def test_a_hook_registered_mid_epoch_runs_from_the_next_iteration(
        logger, tmp_path):
    """The epoch loop calls the per-iteration hook methods itself; the
    mapping it reads is the dispatcher's, updated when hooks register."""
    seen = []

    class Late(legacy.Hook):
        def after_train_iter(self, runner):
            seen.append(runner.iter)

    class Registrar(legacy.Hook):
        def after_train_iter(self, runner):
            if runner.iter == 1:
                runner.register_hook(Late())

    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.register_hook(Registrar(), priority='HIGHEST')
    runner.run([regression_loader(8, 2)], [('train', 1)])
    assert seen == [2, 3]  # the stage being run keeps its list
