"""How two training runs are compared, and how a run crosses processes."""
import math

import pytest
import torch

from benchlib.trace import REL_TOL, Trace, compare, median_step


def _trace(path='a', weight=None, losses=None, lrs=None):
    weight = torch.tensor([[0.5, -1.25]]) if weight is None else weight
    return Trace(path, losses=losses or [[1.0], [0.5]],
                 lrs=lrs or [[0.1], [0.01]],
                 params={'linear.weight': weight,
                         'bn.num_batches_tracked': torch.tensor(3)})


def test_identical_runs_are_bitwise_equal():
    diff = compare(_trace('legacy'), _trace('adapted'))
    assert diff.bitwise and diff.status() == 'bitwise'
    assert diff.param == diff.loss == diff.lr == 0.0


def test_a_last_bit_difference_is_close_but_not_bitwise():
    base = _trace()
    weight = base.params['linear.weight'].clone()
    weight[0, 0] = torch.nextafter(weight[0, 0], torch.tensor(1.0))
    diff = compare(base, _trace(weight=weight))
    assert not diff.bitwise
    assert 0 < diff.param_rel <= REL_TOL
    assert diff.status() == 'close'
    assert diff.status(strict=True) == 'DIFFERENT'


def test_a_drifting_lr_curve_is_different():
    diff = compare(_trace(), _trace(lrs=[[0.1], [0.0102]]))
    assert diff.lr == pytest.approx(2e-4)
    assert diff.status() == 'DIFFERENT'


def test_nan_never_counts_as_equal():
    diff = compare(_trace(), _trace(losses=[[1.0], [math.nan]]))
    assert math.isinf(diff.loss) and not diff.bitwise


def test_curves_of_different_length_are_different():
    diff = compare(_trace(), _trace(losses=[[1.0]]))
    assert math.isinf(diff.loss) and diff.status() == 'DIFFERENT'


def test_a_dtype_change_is_not_bitwise():
    base = _trace()
    other = _trace(weight=base.params['linear.weight'].double())
    assert not compare(base, other).bitwise


def test_different_parameter_names_are_refused():
    other = _trace()
    other.params['extra.bias'] = torch.zeros(1)
    with pytest.raises(ValueError, match='extra.bias'):
        compare(_trace(), other)


def test_json_round_trip_is_exact_for_every_dtype():
    trace = _trace(losses=[[0.1], [1e-30]], lrs=[[1 / 3], [2e-5]])
    trace.params['half'] = torch.tensor([1.1, -3.3], dtype=torch.bfloat16)
    trace.params['float'] = torch.randn(3, 2)
    back = Trace.from_json(trace.to_json())
    assert back.losses == trace.losses and back.lrs == trace.lrs
    for key, value in trace.params.items():
        assert back.params[key].dtype == value.dtype
        assert torch.equal(back.params[key], value)
    assert compare(trace, back).bitwise


def test_median_step_ignores_one_slow_gap():
    stamps = [0.0, 1.0, 2.0, 30.0, 31.0, 32.0]
    assert median_step(stamps) == 1.0
    assert math.isnan(median_step([5.0]))
