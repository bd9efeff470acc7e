"""Small legacy (MMCV-style) models, data and helpers shared by the compat
tests."""
import itertools
import json
from typing import Any, List

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

_NAMES = itertools.count()


def unique(prefix: str) -> str:
    """A fresh name for global instances (loggers, message hubs)."""
    return f'{prefix}-{next(_NAMES)}-{id(_NAMES)}'


class MMCVToyModel(nn.Module):
    """The seed document's MMCV model (samples.md, section 1)."""

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


class ToyGAN(nn.Module):
    """MMCV-style GAN: train_step steps its own optimizers (a dict of them)
    and returns no loss, as with ``optimizer_config=None``."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)
        self.noise = torch.Generator().manual_seed(3)

    def train_step(self, data, optimizer):
        real = data[0]
        z = torch.randn(real.shape, generator=self.noise)
        fake = self.generator(z)
        d_loss = (self.discriminator(fake.detach()) -
                  self.discriminator(real)).mean()
        optimizer['discriminator'].zero_grad()
        d_loss.backward()
        optimizer['discriminator'].step()
        g_loss = -self.discriminator(self.generator(z)).mean()
        optimizer['generator'].zero_grad()
        g_loss.backward()
        optimizer['generator'].step()
        return dict(num_samples=len(real),
                    log_vars=dict(d_loss=d_loss.item(), g_loss=g_loss.item()))


def regression_loader(n: int = 21, batch_size: int = 4,
                      seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    return DataLoader(list(zip(x, 2 * x + 1)), batch_size=batch_size)


def seeded(model_cls, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return model_cls()


def params(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), (key, a[key], b[key])


def make_recorder(hook_base: Any, path: str):
    """A user's legacy hook: reads runner.outputs['log_vars'] after each
    train iteration and writes a JSON line after each train epoch."""

    class Recorder(hook_base):

        def __init__(self) -> None:
            self.rows: List[list] = []

        def after_train_iter(self, runner):
            self.rows.append([
                runner.epoch, runner.iter, runner.inner_iter,
                runner.outputs['log_vars']['loss1'],
                self.every_n_iters(runner, 3),
                self.every_n_inner_iters(runner, 2),
                self.end_of_epoch(runner)
            ])

        def after_train_epoch(self, runner):
            with open(path, 'a') as f:
                f.write(json.dumps(dict(
                    epoch=runner.epoch, last=self.is_last_epoch(runner),
                    every_2=self.every_n_epochs(runner, 2),
                    max_iters=runner.max_iters, rows=self.rows)) + '\n')
            self.rows = []

        def after_epoch(self, runner):  # mmcv's IterBasedRunner calls this
            with open(path, 'a') as f:
                f.write(json.dumps(dict(iter=runner.iter,
                                        rows=self.rows)) + '\n')

    return Recorder()
