"""Seed sample 4: ``predict`` mode returns one prediction per sample, and
the evaluator's metrics consume them through ``Evaluator.process``.

The same validation runs twice: by hand (``val_step`` then
``Evaluator.process``, the steps ValLoop takes) and through
``runner.val()``; both give the same metric. Run:
``python examples/engine_predict_evaluator.py``.
"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from engine.evaluator import BaseMetric, Evaluator
from engine.model import BaseModel
from engine.runner import Runner


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
            # slice the batch into a list, one element per sample
            return [_feat for _feat in feat]
        else:
            return feat


class AbsError(BaseMetric):
    """Mean absolute error between each prediction and its label."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        _, labels = data_batch
        for pred, label in zip(data_samples, labels):
            self.results.append(float((pred - label).abs().sum()))

    def compute_metrics(self, results):
        return dict(abs_error=sum(results) / len(results))


dataset = [(torch.full((1, ), float(i)), torch.full((1, ), 2.0 * i))
           for i in range(10)]
val_dataloader = DataLoader(dataset, batch_size=4)
model = MMEngineToyModel()

# by hand: predictions per sample, fed to the evaluator batch by batch
evaluator = Evaluator(AbsError())
model.eval()
with torch.no_grad():
    for data_batch in val_dataloader:
        outputs = model.val_step(data_batch)
        assert len(outputs) == len(data_batch[0])  # one per sample
        evaluator.process(data_samples=outputs, data_batch=data_batch)
by_hand = evaluator.evaluate(len(dataset))

# the same through the Runner's ValLoop
runner = Runner(
    model=model,
    work_dir='tmp_dir_predict',
    val_dataloader=val_dataloader,
    val_cfg=dict(),
    val_evaluator=dict(type=AbsError))
metrics = runner.val()
assert metrics == by_hand, (metrics, by_hand)

if __name__ == '__main__':
    print(f'metrics: {metrics}')
