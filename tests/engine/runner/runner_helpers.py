"""Small models, data and metrics shared by the runner tests."""
import itertools
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from engine.evaluator import BaseMetric
from engine.model import BaseModel

_names = itertools.count()


def unique(prefix: str) -> str:
    """Global instances (logger, message hub) are keyed by experiment name;
    tests running in one process must not share them."""
    return f'{prefix}_{next(_names)}_{id(object())}'


class ToyModel(BaseModel):
    """A linear regressor with optional dropout (so that training draws
    random numbers, which makes RNG restoration observable)."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(self.dropout(inputs))
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        if mode == 'predict':
            return [dict(pred=p, target=t) for p, t in zip(out, targets)]
        return out


class CountingDataset(Dataset):
    """Random regression pairs; counts how many samples were loaded."""

    def __init__(self, size: int = 16, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(size, 2, generator=gen)
        self.y = self.x @ torch.tensor([[1.5], [-2.0]]) + 0.3
        self.loaded = 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int):
        self.loaded += 1
        return self.x[index], self.y[index]


class MAE(BaseMetric):
    """Mean absolute error of the predictions."""

    default_prefix = 'toy'

    def process(self, data_batch: Any, data_samples) -> None:
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['target'])
                                      .abs().sum()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mae=sum(results) / len(results))


def loader(size: int = 16, batch_size: int = 4, shuffle: bool = False,
           seed: int = 0, dataset: Dataset = None) -> DataLoader:
    return DataLoader(dataset or CountingDataset(size, seed),
                      batch_size=batch_size, shuffle=shuffle)


def runner_kwargs(tmp_path, name: str, **overrides) -> dict:
    """A complete training + validation configuration."""
    kwargs = dict(
        model=ToyModel(),
        work_dir=str(tmp_path / name),
        train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        val_dataloader=loader(8, seed=1),
        val_cfg=dict(),
        val_evaluator=dict(type=MAE),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=2)),
        experiment_name=unique(name),
        randomness=dict(seed=0),
        log_level='WARNING',
    )
    kwargs.update(overrides)
    return kwargs


def params(model: nn.Module) -> dict:
    model = getattr(model, 'module', model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_bitwise_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
