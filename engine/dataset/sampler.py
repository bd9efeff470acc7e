"""Samplers that split one shared permutation between the ranks.

Every rank draws the same permutation (same seed; the seed is synchronised
from rank 0 when not given) and takes every ``world_size``-th index starting
at its rank, so the ranks see disjoint shards that together cover the data.
The order equals mmengine's for the same seed: ``torch.randperm`` with a
``torch.Generator`` seeded with ``seed + epoch``.
"""
import itertools
import math
from typing import Iterator, Optional, Sized

import torch
from torch.utils.data import Sampler

from ..dist import get_dist_info, sync_random_seed
from ..registry import DATA_SAMPLERS


def _permutation(size: int, shuffle: bool, seed: int) -> list:
    if not shuffle:
        return list(range(size))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(size, generator=generator).tolist()


@DATA_SAMPLERS.register_module()
class DefaultSampler(Sampler):
    """One pass over the data per epoch, sharded across ranks.

    Args:
        dataset: anything with ``len``.
        shuffle: a new permutation every epoch (call ``set_epoch``).
        seed: shuffling seed; None draws one and shares rank 0's.
        round_up: repeat indices so every rank gets the same number of
            samples (the evaluator drops the repeats); without it the last
            ranks may get one sample fewer.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.round_up = round_up
        size = len(dataset)
        if round_up:
            self.num_samples = math.ceil(size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = max(
                0, math.ceil((size - self.rank) / self.world_size))
            self.total_size = size

    def __iter__(self) -> Iterator[int]:
        indices = _permutation(len(self.dataset), self.shuffle,
                               self.seed + self.epoch)
        if self.round_up and indices:
            repeats = self.total_size // len(indices) + 1
            indices = (indices * repeats)[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` (each epoch shuffles
        differently)."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler):
    """An endless stream of indices for iteration-based training.

    Permutations are drawn one after another from one generator seeded with
    ``seed``; each rank takes every ``world_size``-th index of the stream.
    ``len`` is the dataset size (one "epoch" of the stream).
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)
        if self.size == 0:
            raise ValueError('InfiniteSampler needs a non-empty dataset')
        self.indices = self._indices_of_rank()

    def _infinite_indices(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        while True:
            if self.shuffle:
                yield from torch.randperm(self.size,
                                          generator=generator).tolist()
            else:
                yield from range(self.size)

    def _indices_of_rank(self) -> Iterator[int]:
        return itertools.islice(self._infinite_indices(), self.rank, None,
                                self.world_size)

    def __iter__(self) -> Iterator[int]:
        # One shared stream: a new DataLoader iterator continues where the
        # previous one stopped instead of starting over.
        yield from self.indices

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """The stream does not depend on the epoch."""
