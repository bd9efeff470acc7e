"""Seed samples 1 and 5, MMCV side: the old runner on several processes.

Launch two processes on this machine (CPUs are enough)::

    torchrun --nproc_per_node=2 examples/dist_legacy.py

As with mmcv, the script joins the process group itself (``init_dist``),
wraps the model in ``MMDistributedDataParallel`` *before* building the
runner, and gives the DataLoader a ``DistributedSampler`` so that each rank
sees its share of the data (``DistSamplerSeedHook`` reshuffles it every
epoch). Without GPUs, ``init_dist`` uses gloo and the wrapper ignores the
``device_ids``. Only rank 0 logs and writes ``./tmp_dir_dist_legacy``.
"""
import os

import torch
import torch.nn as nn
from torch.optim import SGD
from torch.utils.data import DataLoader, DistributedSampler

from legacy import (DistSamplerSeedHook, MMDistributedDataParallel, Runner,
                    get_dist_info, get_logger, init_dist)

init_dist('pytorch')  # reads torchrun's RANK, WORLD_SIZE, MASTER_ADDR...
rank, world_size = get_dist_info()

gen = torch.Generator().manual_seed(0)
inputs = torch.randn(48, 1, 1, generator=gen)
train_dataset = list(zip(inputs, 2 * inputs + 1))
train_dataloader = DataLoader(
    train_dataset, batch_size=2, sampler=DistributedSampler(train_dataset))


class MMCVToyModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, img, label, return_loss=False):
        feat = self.linear(img)
        loss1 = (feat - label).pow(2)
        loss2 = (feat - label).abs()
        loss = (loss1 + loss2).sum()
        return dict(loss=loss,
                    num_samples=len(img),
                    log_vars=dict(
                        loss1=loss1.sum().item(),
                        loss2=loss2.sum().item()))

    def train_step(self, data, optimizer=None):
        return self(*data, return_loss=True)

    def val_step(self, data, optimizer=None):
        return self(*data, return_loss=False)


torch.manual_seed(0)  # the same initial weights on every rank
model = MMCVToyModel()
if torch.cuda.is_available():
    model = model.cuda()
find_unused_parameters = False
model = MMDistributedDataParallel(
    model,
    device_ids=[int(os.environ['LOCAL_RANK'])],
    broadcast_buffers=False,
    find_unused_parameters=find_unused_parameters)
optimizer = SGD(model.parameters(), lr=0.01)
logger = get_logger('demo')  # rank 0 logs; the others only errors

lr_config = dict(policy='step', step=[2, 3])
optimizer_config = dict(grad_clip=None)
log_config = dict(interval=4, hooks=[dict(type='TextLoggerHook')])

runner = Runner(
    model=model,
    work_dir='tmp_dir_dist_legacy',
    optimizer=optimizer,
    logger=logger,
    max_epochs=4)

runner.register_training_hooks(
    lr_config=lr_config,
    optimizer_config=optimizer_config,
    checkpoint_config=dict(interval=2),
    log_config=log_config)
runner.register_hook(DistSamplerSeedHook())
runner.run([train_dataloader], [('train', 1)])

if __name__ == '__main__' and rank == 0:
    weight = model.module.linear.weight.item()
    print(f'{world_size} ranks trained {runner.iter} iterations each; '
          f'weight {weight:.4f}')
