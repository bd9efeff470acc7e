"""The seed document's MMCV model, untouched, trained by the engine.

Section 1 of the seed document trains ``MMCVToyModel`` with mmcv's
``Runner``. Here the same model class and the same old-style settings run on
``engine.runner.Runner``: ``compat.adapt`` makes the model an engine model
and ``compat.migrate_config`` turns the old settings into Runner arguments
(printing what it did with each). The result equals ``legacy.Runner`` (see
``examples/legacy_seed_sample.py``) and mmcv 1.7.2, bitwise.

Run: ``python examples/compat_seed_sample.py`` (writes ``tmp_dir/``).
"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

import compat
from engine.runner import Runner

train_dataset = [(torch.ones(1, 1), torch.ones(1, 1))] * 50
train_dataloader = DataLoader(train_dataset, batch_size=2)


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


# The old settings, as the seed passes them to mmcv's Runner and
# register_training_hooks.
old_cfg = dict(
    optimizer=dict(type='SGD', lr=0.01),
    lr_config=dict(policy='step', step=[2, 3]),
    optimizer_config=dict(grad_clip=None),
    log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook')]),
    runner=dict(type='EpochBasedRunner', max_epochs=5))

if __name__ == '__main__':
    migrated = compat.migrate_config(old_cfg,
                                     epoch_length=len(train_dataloader))
    print(migrated.report)
    model = compat.adapt(MMCVToyModel())
    runner = Runner(
        model=model,
        work_dir='tmp_dir',
        train_dataloader=train_dataloader,
        **migrated)
    runner.train()
    print('final weight', model.linear.weight.item(), 'bias',
          model.linear.bias.item())
