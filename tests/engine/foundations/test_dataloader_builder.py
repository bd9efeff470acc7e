"""build_dataloader from config dicts, as the Runner uses it."""
import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from engine.dataset import InfiniteSampler, build_dataloader, worker_init_fn
from engine.registry import DATASETS, FUNCTIONS


@DATASETS.register_module(name='FoundationsToyDataset', force=True)
class ToyDataset(Dataset):

    def __init__(self, size=10):
        self.size = size
        self.initialised = False

    def full_init(self):
        self.initialised = True

    def __getitem__(self, idx):
        return dict(inputs=torch.tensor([float(idx)]), idx=idx)

    def __len__(self):
        return self.size


def test_dataloader_instance_is_returned_as_is():
    loader = DataLoader([1, 2, 3])
    assert build_dataloader(loader) is loader


def test_builds_dataset_sampler_and_pseudo_collate():
    loader = build_dataloader(
        dict(dataset=dict(type='FoundationsToyDataset', size=5),
             sampler=dict(type='DefaultSampler', shuffle=False),
             batch_size=2),
        seed=1)
    assert loader.dataset.initialised
    assert loader.sampler.seed == 1
    batches = list(loader)
    assert [b['idx'] for b in batches] == [[0, 1], [2, 3], [4]]
    assert isinstance(batches[0]['inputs'], list)


def test_default_collate_and_dataset_object_and_kwargs():
    loader = build_dataloader(
        dict(dataset=ToyDataset(4),
             sampler=dict(type='DefaultSampler', shuffle=False),
             collate_fn=dict(type='default_collate'),
             batch_size=4, drop_last=True, num_workers=0))
    batch = next(iter(loader))
    assert batch['inputs'].shape == (4, 1)


def test_batch_size_none_means_no_batch_sampler():
    loader = build_dataloader(
        dict(dataset=ToyDataset(3),
             sampler=dict(type='DefaultSampler', shuffle=False),
             batch_size=None, collate_fn=lambda sample: sample['idx']))
    assert loader.batch_sampler is None
    assert list(loader) == [0, 1, 2]


def test_batch_sampler_config_receives_sampler_and_batch_size():
    loader = build_dataloader(
        dict(dataset=ToyDataset(5),
             sampler=dict(type='DefaultSampler', shuffle=False, seed=0),
             batch_sampler=dict(type='torch.utils.data.BatchSampler',
                                drop_last=True),
             batch_size=2))
    assert [b['idx'] for b in loader] == [[0, 1], [2, 3]]


def test_num_batch_per_epoch_slices_the_dataset():
    loader = build_dataloader(
        dict(dataset=ToyDataset(10), num_batch_per_epoch=2,
             sampler=dict(type='DefaultSampler', shuffle=False, seed=0),
             batch_size=3))
    assert len(loader) == 2 and len(loader.dataset) == 6


def test_infinite_sampler_and_diff_rank_seed():
    np.random.seed(0)
    drawn = np.random.randint(2**31)
    np.random.seed(0)
    loader = build_dataloader(
        dict(dataset=ToyDataset(3), sampler=dict(type='InfiniteSampler'),
             batch_size=2),
        seed=5, diff_rank_seed=True)
    assert isinstance(loader.sampler, InfiniteSampler)
    assert loader.sampler.seed == drawn  # each rank draws its own seed
    it = iter(loader)
    assert len([next(it) for _ in range(4)]) == 4


def test_worker_init_fn_defaults_and_config():
    loader = build_dataloader(
        dict(dataset=ToyDataset(2), sampler=dict(type='DefaultSampler'),
             num_workers=2), seed=10)
    assert loader.worker_init_fn.keywords == dict(
        num_workers=2, rank=0, seed=10, disable_subprocess_warning=False)
    calls = []
    FUNCTIONS.register_module(name='foundations_init_fn', force=True,
                              module=lambda worker_id, tag: calls.append(
                                  (worker_id, tag)))
    loader = build_dataloader(
        dict(dataset=ToyDataset(2), sampler=dict(type='DefaultSampler'),
             worker_init_fn=dict(type='foundations_init_fn', tag='x')))
    loader.worker_init_fn(3)
    assert calls == [(3, 'x')]
    assert build_dataloader(
        dict(dataset=ToyDataset(2),
             sampler=dict(type='DefaultSampler'))).worker_init_fn is None


def test_worker_init_fn_seeds_every_generator():
    worker_init_fn(1, num_workers=4, rank=2, seed=100)
    expected = 4 * 2 + 1 + 100
    values = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(expected)
    np.random.seed(expected)
    torch.manual_seed(expected)
    assert values == (random.random(), np.random.rand(), torch.rand(1).item())


@pytest.mark.parametrize('cfg, error, match', [
    (dict(sampler=dict(type='DefaultSampler')), KeyError, "'dataset'"),
    (dict(dataset=[1, 2]), KeyError, "'sampler'"),
    (dict(dataset=[1, 2], sampler=dict(type='DefaultSampler'),
          batch_sampler=dict(type='torch.utils.data.BatchSampler')),
     KeyError, "'batch_size'"),
    (dict(dataset=[1, 2], sampler=dict(type='DefaultSampler'),
          collate_fn=dict(type='no_such_collate')), KeyError,
     'no_such_collate'),
    (dict(dataset=[1, 2], sampler=dict(type='DefaultSampler'),
          collate_fn=3), TypeError, 'collate_fn'),
    (dict(dataset=[1, 2], sampler=dict(type='DefaultSampler'),
          batch_sise=2), TypeError, 'batch_sise'),
    (dict(dataset=[1, 2], sampler=dict(type='DefaultSampler'),
          disable_subprocess_warning='yes'), TypeError,
     'disable_subprocess_warning'),
])
def test_clear_errors(cfg, error, match):
    with pytest.raises(error, match=match):
        build_dataloader(cfg)


def test_non_dict_config_is_rejected():
    with pytest.raises(TypeError, match='DataLoader or a config dict'):
        build_dataloader([1, 2])
