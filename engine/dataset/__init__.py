"""Data loading: samplers, collate functions and the dataloader builder."""
from .builder import SlicedDataset, build_dataloader, worker_init_fn
from .collate import default_collate, pseudo_collate
from .sampler import DefaultSampler, InfiniteSampler

__all__ = [
    'DefaultSampler', 'InfiniteSampler', 'build_dataloader',
    'default_collate', 'pseudo_collate', 'worker_init_fn', 'SlicedDataset'
]
