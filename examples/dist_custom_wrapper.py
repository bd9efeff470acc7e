"""Seed sample 5: a registered wrapper with its own ``train_step``, picked
by name in ``model_wrapper_cfg``.

Launch::

    torchrun --nproc_per_node=2 examples/dist_custom_wrapper.py

The model updates twice per batch, batch augmentation on for the first
update and off for the second. On one process the model's ``train_step``
does it; on several, the Runner wraps the model in the wrapper that
``model_wrapper_cfg`` names, and the seed's ``CustomDistributedDataParallel``
repeats the same steps through the wrapped sub-modules (each in its own DDP,
as ``MMSeparateDistributedDataParallel`` arranges), so both updates
all-reduce their gradients.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.model import (BaseDataPreprocessor, BaseModel,
                          MMSeparateDistributedDataParallel)
from engine.registry import MODEL_WRAPPERS
from engine.runner import Runner


class FlipAugment(BaseDataPreprocessor):
    """Batch augmentation: mirror inputs and targets while training."""

    def forward(self, data, training=False):
        inputs, targets = super().forward(data, training)
        return (-inputs, -targets) if training else (inputs, targets)


class CustomModel(BaseModel):

    def __init__(self) -> None:
        super().__init__(data_preprocessor=FlipAugment())
        self.linear = nn.Linear(1, 1)

    def forward(self, data, mode='tensor'):
        inputs, targets = data
        return F.mse_loss(self.linear(inputs), targets)

    # --- the seed document's method, unchanged ----------------------------
    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, training=True)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)
        data = self.data_preprocessor(data, training=False)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)


# --- the seed document's wrapper, registered so that the config can name it
@MODEL_WRAPPERS.register_module()
class CustomDistributedDataParallel(MMSeparateDistributedDataParallel):

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, training=True)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)
        data = self.data_preprocessor(data, training=False)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)


gen = torch.Generator().manual_seed(0)
inputs = torch.randn(48, 1, generator=gen)
dataset = list(zip(inputs, 3 * inputs))

torch.manual_seed(0)  # the same initial weights on every rank
model = CustomModel()
cfg = dict(model_wrapper_cfg=dict(type='CustomDistributedDataParallel'))
runner = Runner(
    model=model,
    work_dir='tmp_dir_dist_custom',
    train_dataloader=dict(
        dataset=dataset,
        batch_size=4,  # per rank
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate')),
    train_cfg=dict(by_epoch=True, max_epochs=3),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
    default_hooks=dict(checkpoint=None),
    launcher='pytorch',
    env_cfg=dict(dist_cfg=dict(backend=None, timeout=300)),
    randomness=dict(seed=0),
    cfg=cfg)
runner.train()

if __name__ == '__main__' and runner.rank == 0:
    weight = next(model.parameters()).item()
    print(f'wrapped in {type(runner.model).__name__}; weight {weight:.4f} '
          f'after {runner.iter} iterations of two updates each')
