"""Seed sample 5, engine side: ``launcher='pytorch'`` and the Runner does
the rest.

Launch two processes on this machine (CPUs are enough)::

    torchrun --nproc_per_node=2 examples/dist_engine.py

Every process runs this whole file. The Runner reads torchrun's variables
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...), creates the
process group (``backend=None``: nccl with GPUs, gloo without), wraps the
model in ``MMDistributedDataParallel``, and the ``DefaultSampler`` of the
dataloader configs gives each rank its share of the data; gradients are
averaged over the ranks in ``backward``, validation results gathered on rank
0 in dataset order. Only rank 0 logs and writes ``./tmp_dir_dist``; every
rank ends with the same model.
"""
import torch
import torch.nn as nn

from engine.evaluator import BaseMetric
from engine.model import BaseModel
from engine.runner import Runner

gen = torch.Generator().manual_seed(0)
inputs = torch.randn(48, 1, 1, generator=gen)
train_dataset = list(zip(inputs, 2 * inputs + 1))
val_dataset = train_dataset[:10]


class MMEngineToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, img, label, mode):
        feat = self.linear(img)
        if mode == 'loss':
            loss1 = (feat - label).pow(2)
            loss2 = (feat - label).abs()
            return dict(loss1=loss1, loss2=loss2)
        elif mode == 'predict':
            return [dict(pred=f, label=t) for f, t in zip(feat, label)]


class MeanAbsError(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(
            float((s['pred'] - s['label']).abs()) for s in data_samples)

    def compute_metrics(self, results):
        return dict(mae=sum(results) / len(results))


def loader(dataset, shuffle):
    """A config, not a DataLoader: the Runner builds it with a sampler that
    shards the data across the ranks (a ready DataLoader is used as is, and
    every rank would then see all the data)."""
    return dict(
        dataset=dataset,
        batch_size=4,  # per rank
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        collate_fn=dict(type='default_collate'))


torch.manual_seed(0)  # the same initial weights on every rank
runner = Runner(
    model=MMEngineToyModel(),
    work_dir='tmp_dir_dist',
    train_dataloader=loader(train_dataset, shuffle=True),
    train_cfg=dict(by_epoch=True, max_epochs=4, val_interval=4),
    val_dataloader=loader(val_dataset, shuffle=False),
    val_cfg=dict(),
    val_evaluator=dict(type=MeanAbsError),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
    launcher='pytorch',  # turn on distributed training
    env_cfg=dict(dist_cfg=dict(backend=None, timeout=300)),
    randomness=dict(seed=0))
runner.train()

if __name__ == '__main__' and runner.rank == 0:
    mae = runner.message_hub.get_scalar('val/mae').current()
    print(f'{runner.world_size} ranks trained {runner.iter} iterations '
          f'each; validation mae {mae:.4f}')
