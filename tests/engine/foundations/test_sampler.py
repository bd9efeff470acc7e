"""Samplers give mmengine's index order; collate functions' structure."""
from collections import namedtuple

import numpy as np
import pytest
import torch

import engine.dataset.sampler as sampler_module
from engine.dataset import (DefaultSampler, InfiniteSampler, default_collate,
                            pseudo_collate)
from engine.registry import DATA_SAMPLERS, FUNCTIONS

from .conftest import load_fixture

RECORDED = load_fixture('samplers.json')


def _fake_rank(monkeypatch, case):
    monkeypatch.setattr(sampler_module, 'get_dist_info',
                        lambda: (case['rank'], case['world_size']))


@pytest.mark.parametrize('case', RECORDED['default'],
                         ids=lambda c: '-'.join(
                             str(c[k]) for k in sorted(c)
                             if k not in ('indices', 'length')))
def test_default_sampler_matches_mmengine(monkeypatch, case):
    _fake_rank(monkeypatch, case)
    sampler = DefaultSampler(list(range(case['size'])),
                             shuffle=case['shuffle'], seed=case['seed'],
                             round_up=case['round_up'])
    sampler.set_epoch(case['epoch'])
    assert list(sampler) == case['indices']
    assert len(sampler) == case['length'] == len(case['indices'])


@pytest.mark.parametrize('case', RECORDED['infinite'],
                         ids=lambda c: '-'.join(
                             str(c[k]) for k in sorted(c) if k != 'indices'))
def test_infinite_sampler_matches_mmengine(monkeypatch, case):
    _fake_rank(monkeypatch, case)
    sampler = InfiniteSampler(list(range(case['size'])),
                              shuffle=case['shuffle'], seed=case['seed'])
    stream = iter(sampler)
    assert [next(stream) for _ in case['indices']] == case['indices']
    assert len(sampler) == case['size']


def test_infinite_sampler_continues_across_iterators():
    sampler = InfiniteSampler(list(range(4)), shuffle=False, seed=0)
    first = iter(sampler)
    assert [next(first) for _ in range(3)] == [0, 1, 2]
    second = iter(sampler)
    assert [next(second) for _ in range(3)] == [3, 0, 1]


def test_epochs_reshuffle_and_seed_none_draws_one():
    sampler = DefaultSampler(list(range(20)))
    assert isinstance(sampler.seed, int)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(list(sampler)) == list(range(20))


def test_empty_dataset_is_fine_for_default_sampler():
    assert list(DefaultSampler([], seed=0)) == []
    with pytest.raises(ValueError, match='non-empty'):
        InfiniteSampler([], seed=0)


def test_samplers_and_collates_are_registered():
    assert DATA_SAMPLERS.get('DefaultSampler') is DefaultSampler
    assert DATA_SAMPLERS.get('InfiniteSampler') is InfiniteSampler
    assert FUNCTIONS.get('pseudo_collate') is pseudo_collate
    assert FUNCTIONS.get('default_collate') is default_collate


Point = namedtuple('Point', ['x', 'y'])


def test_pseudo_collate_transposes_without_stacking():
    samples = [dict(img=torch.ones(2), meta=dict(id=i), name=f'n{i}')
               for i in range(3)]
    batch = pseudo_collate(samples)
    assert isinstance(batch['img'], list) and len(batch['img']) == 3
    assert batch['meta'] == dict(id=[0, 1, 2])
    assert batch['name'] == ['n0', 'n1', 'n2']
    pairs = pseudo_collate([(torch.zeros(1), 1), (torch.ones(1), 2)])
    assert isinstance(pairs, list) and pairs[1] == (1, 2)
    assert pseudo_collate([Point(1, 2), Point(3, 4)]) == Point((1, 3),
                                                               (2, 4))
    assert pseudo_collate(['a', 'b']) == ['a', 'b']


def test_default_collate_stacks():
    samples = [dict(img=torch.full((2, ), float(i)), label=i,
                    arr=np.zeros(3)) for i in range(3)]
    batch = default_collate(samples)
    assert batch['img'].shape == (3, 2)
    assert batch['label'].tolist() == [0, 1, 2]
    assert batch['arr'].shape == (3, 3)
    lists = default_collate([[torch.ones(1), 'a'], [torch.ones(1), 'b']])
    assert lists[0].shape == (2, 1) and lists[1] == ('a', 'b')


def test_collate_rejects_ragged_samples():
    with pytest.raises(RuntimeError, match='same number'):
        pseudo_collate([[1, 2], [1]])
