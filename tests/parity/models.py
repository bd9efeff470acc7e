"""Models trained by the parity scenarios.

Legacy models are plain ``nn.Module``s with MMCV's ``train_step(data,
optimizer)``; they are also what ``compat.adapt`` wraps, and the stored mmcv
checkpoints (``fixtures/mmcv_*.pth``) hold a :class:`Regressor`. Engine models
need the family's ``BaseModel``, so they are made per family by
:func:`engine_models`.

None of them draws from the global RNG after construction (the GAN owns a
seeded generator for its noise): the runners of the two worlds consume the
global RNG differently (seeding, data-loader base seeds), and that must not
move the numbers.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


class ConvBody(nn.Module):
    """Conv + BN + a ``head``: enough names for every paramwise rule."""

    def __init__(self, out_dim: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.bn(self.conv(x)))
        return self.head(feat.mean(dim=(2, 3)))


# ----------------------------------------------------------------- legacy

class MMCVToyModel(nn.Module):
    """The seed document's MMCV model (samples.md, section 1), verbatim."""

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


class _LegacyStep:
    """``train_step``/``val_step`` in MMCV's style for a ``predict`` net."""

    def _step(self, data):
        x, y = data
        pred = self.predict(x)
        loss = F.mse_loss(pred, y)
        mae = (pred - y).abs().mean()
        return dict(loss=loss, num_samples=len(x),
                    log_vars=dict(loss=loss.item(), mae=mae.item()))

    def train_step(self, data, optimizer=None):
        return self._step(data)

    def val_step(self, data, optimizer=None):
        return self._step(data)


class Regressor(_LegacyStep, nn.Module):
    """A two-layer MLP regressor (also the model of the stored checkpoints)."""

    def __init__(self, in_dim: int = 4, hidden: int = 8,
                 out_dim: int = 1) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, out_dim)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvRegressor(_LegacyStep, nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = ConvBody()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class TinyGAN(nn.Module):
    """The seed's MMCV-style GAN step (samples.md, section 3): each sub-net
    is optimized by the model itself, ``optimizer`` is a dict of them."""

    noise_size = 2

    def __init__(self, data_dim: int = 3) -> None:
        super().__init__()
        self.generator = mlp(self.noise_size, 8, data_dim)
        self.discriminator = mlp(data_dim, 8, 1)
        self._noise = torch.Generator().manual_seed(7)

    def disc_loss(self, pred_fake, pred_real):
        loss_fake = F.softplus(pred_fake).mean()
        loss_real = F.softplus(-pred_real).mean()
        loss = loss_fake + loss_real
        return loss, dict(loss_disc_fake=loss_fake.item(),
                          loss_disc_real=loss_real.item())

    def gen_loss(self, pred_fake):
        loss = F.softplus(-pred_fake).mean()
        return loss, dict(loss_gen=loss.item())

    def _noise_like(self, real_imgs):
        return torch.randn((real_imgs.shape[0], self.noise_size),
                           generator=self._noise).type_as(real_imgs)

    def train_discriminator(self, inputs, optimizer):
        real_imgs = inputs['inputs']
        z = self._noise_like(real_imgs)
        with torch.no_grad():
            fake_imgs = self.generator(z)
        disc_pred_fake = self.discriminator(fake_imgs)
        disc_pred_real = self.discriminator(real_imgs)
        parsed_losses, log_vars = self.disc_loss(disc_pred_fake,
                                                 disc_pred_real)
        parsed_losses.backward()
        optimizer.step()
        optimizer.zero_grad()
        return log_vars

    def train_generator(self, inputs, optimizer):
        real_imgs = inputs['inputs']
        z = self._noise_like(real_imgs)
        fake_imgs = self.generator(z)
        disc_pred_fake = self.discriminator(fake_imgs)
        parsed_loss, log_vars = self.gen_loss(disc_pred_fake)
        parsed_loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return log_vars

    def train_step(self, data, optimizer):
        log_vars = self.train_discriminator(data, optimizer['discriminator'])
        log_vars.update(self.train_generator(data, optimizer['generator']))
        return dict(log_vars=log_vars, num_samples=len(data['inputs']))


# ----------------------------------------------------------------- engine

@functools.cache
def _engine_models(base_model: type) -> SimpleNamespace:
    class MMEngineToyModel(base_model):
        """The seed document's MMEngine model (samples.md, section 2)."""

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
                return [_feat for _feat in feat]
            return feat

    class _Predictor(base_model):
        def forward(self, x, y, mode='tensor'):
            pred = self.net(x)
            if mode == 'loss':
                return dict(loss=F.mse_loss(pred, y))
            if mode == 'predict':
                return list(pred)
            return pred

    class EngineRegressor(_Predictor):
        def __init__(self, in_dim: int = 4, hidden: int = 8,
                     out_dim: int = 1) -> None:
            super().__init__()
            self.net = mlp(in_dim, hidden, out_dim)

    class EngineConvRegressor(_Predictor):
        def __init__(self) -> None:
            super().__init__()
            self.net = ConvBody()

    return SimpleNamespace(MMEngineToyModel=MMEngineToyModel,
                           Regressor=EngineRegressor,
                           ConvRegressor=EngineConvRegressor)


def engine_models(api) -> SimpleNamespace:
    """The engine models built on ``api.model.BaseModel``."""
    return _engine_models(api.model.BaseModel)


@functools.cache
def _mae_metric(base_metric: type) -> type:
    class MAEMetric(base_metric):
        """Mean absolute error over the samples seen, one result each."""

        def process(self, data_batch, data_samples) -> None:
            targets = data_batch[1]
            for pred, target in zip(data_samples, targets):
                self.results.append((pred - target).abs().mean().item())

        def compute_metrics(self, results: list) -> dict:
            return dict(mae=sum(results) / len(results))

    return MAEMetric


def mae_metric(api):
    """A fresh ``MAEMetric`` instance built on ``api.evaluator.BaseMetric``."""
    return _mae_metric(api.evaluator.BaseMetric)()

