"""Seed sample 2: the toy model on the engine Runner.

The code is the seed document's, with ``mmengine`` replaced by ``engine``.
Run it in any directory: ``python examples/engine_toy_model.py`` (it writes
checkpoints and logs to ./tmp_dir).
"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from engine.runner import Runner
from engine.model import BaseModel

train_dataset = [(torch.ones(1, 1), torch.ones(1, 1))] * 50
train_dataloader = DataLoader(train_dataset, batch_size=2)


class MMEngineToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, img, label, mode):
        feat = self.linear(img)
        # called by train_step: the loss dict used to update parameters
        if mode == 'loss':
            loss1 = (feat - label).pow(2)
            loss2 = (feat - label).abs()
            return dict(loss1=loss1, loss2=loss2)
        # called by val_step: predictions handed to the evaluator
        elif mode == 'predict':
            return [_feat for _feat in feat]
        # tensor mode
        else:
            pass


runner = Runner(
    model=MMEngineToyModel(),
    work_dir='tmp_dir',
    train_dataloader=train_dataloader,
    train_cfg=dict(by_epoch=True, max_epochs=5),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)))
runner.train()

if __name__ == '__main__':
    final = runner.message_hub.get_scalar('train/loss').current()
    print(f'trained {runner.iter} iterations, last loss {final:.4f}')
