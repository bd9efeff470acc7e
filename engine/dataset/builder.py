"""build_dataloader: a DataLoader from a config dict, as the Runner does it.

::

    dict(dataset=dict(type='MyDataset', ...) or a dataset object,
         sampler=dict(type='DefaultSampler', shuffle=True),
         batch_size=8,                       # or batch_sampler=dict(...)
         collate_fn=dict(type='default_collate'),  # pseudo_collate if absent
         num_workers=2, ...)                 # other DataLoader arguments
"""
import copy
import random
import warnings
from functools import partial
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..dist import get_rank, get_world_size
from ..registry import DATA_SAMPLERS, DATASETS, FUNCTIONS


def worker_init_fn(worker_id: int,
                   num_workers: int,
                   rank: int,
                   seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """Seed a data-loader worker with ``num_workers * rank + worker_id +
    seed`` so that workers and ranks draw different random augmentations
    that are still reproducible."""
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter('ignore')


class SlicedDataset(Dataset):
    """The first ``length`` samples of a dataset (``num_batch_per_epoch``,
    for quick debugging runs)."""

    def __init__(self, dataset: Any, length: int) -> None:
        self._dataset = dataset
        self._length = min(length, len(dataset))

    def __getitem__(self, idx: int) -> Any:
        return self._dataset[idx]

    def __len__(self) -> int:
        return self._length


def _pop_required(cfg: dict, key: str, example: str) -> Any:
    if key not in cfg:
        raise KeyError(
            f'the dataloader config needs {key!r} (e.g. {example}); got keys '
            f'{sorted(cfg)}')
    return cfg.pop(key)


def _function(spec: Any, what: str) -> Callable:
    """A callable from ``dict(type=name_or_callable, **kwargs)`` or a
    callable."""
    if callable(spec):
        return spec
    if not isinstance(spec, dict) or 'type' not in spec:
        raise TypeError(
            f'{what} must be a callable or dict(type=..., **kwargs), got '
            f'{spec!r}')
    kwargs = dict(spec)
    fn_type = kwargs.pop('type')
    if isinstance(fn_type, str):
        fn = FUNCTIONS.get(fn_type)
        if fn is None:
            raise FUNCTIONS.unknown_key_error(fn_type)
    elif callable(fn_type):
        fn = fn_type
    else:
        raise TypeError(
            f'{what} type must be a registered name or a callable, got '
            f'{fn_type!r}')
    return partial(fn, **kwargs)


def _check_sampler(sampler: Any, name: str) -> None:
    """A sampler must be a Sampler (or built from a config); torch would
    take any iterable and fail later, inside a batch, with an unrelated
    message."""
    if not isinstance(sampler, Sampler):
        raise TypeError(
            f'{name} must be a config dict such as dict(type='
            f'"DefaultSampler", shuffle=True) or a torch Sampler, but got '
            f'{type(sampler).__name__}: {sampler!r}')


def _batch_size(cfg: dict) -> int:
    size = cfg.get('batch_size')
    if size is None and isinstance(cfg.get('batch_sampler'), dict):
        size = cfg['batch_sampler'].get('batch_size')
    return 1 if size is None else size


def build_dataloader(dataloader: Any,
                     seed: Optional[int] = None,
                     diff_rank_seed: bool = False) -> DataLoader:
    """Build a DataLoader from a config dict (a DataLoader is returned as
    is).

    Args:
        dataloader: a DataLoader or its config (see the module docstring).
        seed: seed of the sampler and of the worker seeding.
        diff_rank_seed: give every rank its own sampler seed (None: each
            sampler draws and syncs its own).
    """
    if isinstance(dataloader, DataLoader):
        return dataloader
    if not isinstance(dataloader, dict):
        raise TypeError(
            f'dataloader must be a DataLoader or a config dict, got '
            f'{type(dataloader).__name__}')
    cfg = copy.deepcopy(dict(dataloader))

    dataset = _pop_required(cfg, 'dataset',
                            "dataset=dict(type='MyDataset', ...)")
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset)
        if hasattr(dataset, 'full_init'):
            dataset.full_init()

    num_batch_per_epoch = cfg.pop('num_batch_per_epoch', None)
    if num_batch_per_epoch is not None:
        dataset = SlicedDataset(
            dataset, num_batch_per_epoch * _batch_size(cfg) * get_world_size())

    sampler = _pop_required(
        cfg, 'sampler', "sampler=dict(type='DefaultSampler', shuffle=True)")
    if isinstance(sampler, dict):
        sampler = DATA_SAMPLERS.build(
            sampler,
            default_args=dict(
                dataset=dataset, seed=None if diff_rank_seed else seed))
    _check_sampler(sampler, 'sampler')

    batch_sampler = cfg.pop('batch_sampler', None)
    if isinstance(batch_sampler, dict):
        batch_size = _pop_required(cfg, 'batch_size', 'batch_size=8')
        batch_sampler = DATA_SAMPLERS.build(
            batch_sampler,
            default_args=dict(sampler=sampler, batch_size=batch_size))
    if batch_sampler is not None:
        _check_sampler(batch_sampler, 'batch_sampler')

    disable_warning = cfg.pop('disable_subprocess_warning', False)
    if not isinstance(disable_warning, bool):
        raise TypeError(
            f'disable_subprocess_warning must be a bool, got '
            f'{disable_warning!r}')
    if 'worker_init_fn' in cfg:
        init_fn = _function(cfg.pop('worker_init_fn'), 'worker_init_fn')
    elif seed is not None:
        init_fn = partial(
            worker_init_fn,
            num_workers=cfg.get('num_workers', 0),
            rank=get_rank(),
            seed=seed,
            disable_subprocess_warning=disable_warning)
    else:
        init_fn = None

    collate_fn = _function(
        cfg.pop('collate_fn', dict(type='pseudo_collate')), 'collate_fn')
    try:
        return DataLoader(
            dataset=dataset,
            sampler=sampler if batch_sampler is None else None,
            batch_sampler=batch_sampler,
            collate_fn=collate_fn,
            worker_init_fn=init_fn,
            **cfg)
    except TypeError as exc:
        raise TypeError(
            f'building the DataLoader failed: {exc}; the remaining dataloader '
            f'config keys {sorted(cfg)} are passed to torch DataLoader'
        ) from exc
