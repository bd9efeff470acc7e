"""An adapted model logging tensors: the weighted averages are the float64
products mmcv's LogBuffer averaged, though no tensor is multiplied per
iteration (the message hub multiplies host values at the log interval)."""
import numpy as np
import torch
import torch.nn as nn

import compat
from engine.logging import ScaledValue
from engine.optim import OptimWrapper
from engine.runner import Runner

from compat_toys import unique


class TensorLogging(nn.Module):
    """An MMCV-style model whose log_vars are (detached) float32 tensors and
    whose batches have different sizes, so that the weights matter."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.logged = []

    def train_step(self, data, optimizer=None):
        inputs, target = data
        loss = ((self.linear(inputs) - target)**2).mean()
        self.logged.append((loss.detach().clone(), inputs.shape[0]))
        return dict(loss=loss, log_vars=dict(loss=loss.detach()),
                    num_samples=inputs.shape[0])


def test_tensor_log_vars_are_weighted_like_mmcv(tmp_path):
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(n, 2, generator=gen), torch.randn(n, 1,
                                                            generator=gen))
               for n in (3, 5, 2, 7, 4, 6)]
    model = TensorLogging()
    runner = Runner(
        model=compat.adapt(model), work_dir=str(tmp_path),
        train_dataloader=torch.utils.data.DataLoader(
            batches, batch_size=None),
        experiment_name=unique('weighting'), log_level='WARNING',
        **compat.migrate_config(dict(
            optimizer=dict(type='SGD', lr=0.01),
            optimizer_config=dict(grad_clip=None),
            runner=dict(type='EpochBasedRunner', max_epochs=1),
            log_config=dict(interval=4,
                            hooks=[dict(type='TextLoggerHook')]))))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    step = runner.model.train_step(batches[0], wrapper)
    value, count = step.weighted_scalars['loss']
    assert isinstance(value, ScaledValue) and count == 3
    assert float(value) == (step['loss'].double() * 3).item()
    model.logged.clear()
    runner.train()
    buffer = runner.message_hub.get_scalar('train/loss')
    logs, counts = buffer.data
    expected = [(v.to(torch.float64) * n).item() for v, n in model.logged]
    assert logs[-len(expected):].tolist() == expected
    values = np.array([v.item() for v, _ in model.logged])
    nums = np.array([n for _, n in model.logged])
    # mmcv's LogBuffer.average(4): sum(values * nums) / sum(nums)
    assert buffer.mean(4) == np.sum(values[-4:] * nums[-4:]) / np.sum(
        nums[-4:])
