"""engine.model against numbers recorded from mmengine 0.10.7 (see
fixtures/record.py): bitwise equal in fp32 on the CPU."""
import os

import pytest
import torch

import engine.model
import model_scenarios as scenarios

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def _load(name):
    return torch.load(
        os.path.join(FIXTURES, f'{name}.pt'), weights_only=True)


def _assert_bitwise(actual, expected, where=''):
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor), where
        assert actual.dtype == expected.dtype, where
        assert actual.shape == expected.shape, where
        # NaN-free data: equal values and equal signs of zeros
        assert torch.equal(actual, expected), where
        assert torch.equal(torch.signbit(actual), torch.signbit(expected)), \
            where
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            _assert_bitwise(actual[key], expected[key], f'{where}.{key}')
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_bitwise(a, e, f'{where}[{i}]')
    else:
        assert actual == expected, where


@pytest.mark.recorded_numbers
@pytest.mark.parametrize('name', sorted(scenarios.ALL))
def test_matches_mmengine(name):
    _assert_bitwise(scenarios.ALL[name](engine.model), _load(name), name)
