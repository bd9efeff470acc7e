"""Seed sample 5 (single process): a model with its own ``train_step``.

Two updates on the same batch: batch augmentation on for the first
(``training=True``), off for the second. ``CustomModel.train_step`` is the
seed document's; the data preprocessor adds noise only when ``training`` is
True. Run: ``python examples/engine_custom_train_step.py``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from engine.model import BaseDataPreprocessor, BaseModel
from engine.runner import Runner


class NoisyPreprocessor(BaseDataPreprocessor):
    """Batch augmentation: Gaussian noise on the inputs while training."""

    def forward(self, data, training=False):
        inputs, targets = super().forward(data, training)
        if training:
            inputs = inputs + 0.01 * torch.randn_like(inputs)
        return inputs, targets


class CustomModel(BaseModel):

    def __init__(self) -> None:
        super().__init__(data_preprocessor=NoisyPreprocessor())
        self.linear = nn.Linear(3, 1)
        self.updates = 0

    def forward(self, data, mode='tensor'):
        inputs, targets = data
        if mode == 'loss':
            self.updates += 1
            return F.mse_loss(self.linear(inputs), targets)
        return self.linear(inputs)

    # --- the seed document's method, unchanged ----------------------------
    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, training=True)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)
        data = self.data_preprocessor(data, training=False)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)


gen = torch.Generator().manual_seed(0)
x = torch.randn(32, 3, generator=gen)
dataset = [(xi, xi.sum(0, keepdim=True)) for xi in x]
model = CustomModel()
runner = Runner(
    model=model,
    work_dir='tmp_dir_custom',
    train_dataloader=DataLoader(dataset, batch_size=8),
    train_cfg=dict(by_epoch=True, max_epochs=3),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
    default_hooks=dict(checkpoint=None),
    randomness=dict(seed=0))
runner.train()

if __name__ == '__main__':
    print(f'{runner.iter} iterations, {model.updates} updates '
          '(two per batch)')
