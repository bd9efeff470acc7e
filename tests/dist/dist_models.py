"""The seed document's models and the data the distributed tests share.

Every model is built from a fixed seed, so the ranks of a job and the
one-process reference start from the same parameters. Data sets are lists
of ``(input, target)`` pairs of shape ``(1, 1)``, as the seed's.
"""
from typing import Any, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from engine.evaluator import BaseMetric
from engine.model import BaseModel, MMSeparateDistributedDataParallel
from engine.runner import get_state_dict


def pairs(size: int, seed: int = 0) -> List[tuple]:
    """``(x, 2x + 1 + noise)`` pairs, the seed's sample shape (1, 1)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 1, 1, generator=gen)
    y = 2 * x + 1 + 0.1 * torch.randn(size, 1, 1, generator=gen)
    return list(zip(x, y))


def seeded(cls: type, *args, seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    return cls(*args, **kwargs)


def params_of(model: nn.Module) -> dict:
    """A copy of the parameters and buffers under the names a checkpoint
    gives them (no wrapper's ``module.``, even inside)."""
    return {k: v.detach().clone() for k, v in get_state_dict(model).items()}


def assert_same_params(got: dict, expected: dict, rtol: float = 1e-6) -> None:
    """Equal up to the order of the reductions (relative ``rtol``)."""
    assert got.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=rtol,
                                   atol=0, msg=lambda m: f'{key}: {m}')


# ----------------------------------------------------------------- engine
class MMEngineToyModel(BaseModel):
    """The seed document's engine model (section 2)."""

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


class AbsError(BaseMetric):
    """Mean absolute error over the whole validation set."""

    default_prefix = 'toy'

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append(
                float((sample['pred'] - sample['label']).abs().sum()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mae=sum(results) / len(results), count=len(results))


class SeedGAN(BaseModel):
    """The seed's GAN (section 3, MMEngine column): ``train_discriminator``
    and ``train_generator`` as written there; inputs are points
    ``dict(inputs=...)``."""

    def __init__(self, noise_size: int = 2) -> None:
        super().__init__()
        self.noise_size = noise_size
        self.generator = nn.Linear(noise_size, 1)
        self.discriminator = nn.Sequential(nn.Linear(1, 4), nn.Tanh(),
                                           nn.Linear(4, 1))

    def forward(self, inputs, mode='tensor'):
        return self.generator(torch.randn(inputs.shape[0], self.noise_size))

    def disc_loss(self, disc_pred_fake, disc_pred_real):
        loss = F.softplus(disc_pred_fake).mean() + F.softplus(
            -disc_pred_real).mean()
        return loss, dict(loss_disc=loss.detach())

    def gen_loss(self, disc_pred_fake):
        loss = F.softplus(-disc_pred_fake).mean()
        return loss, dict(loss_gen=loss.detach())

    def train_step(self, data, optim_wrapper):
        inputs = self.data_preprocessor(data, True)
        log_vars = self.train_discriminator(inputs,
                                            optim_wrapper['discriminator'])
        log_vars.update(
            self.train_generator(inputs, optim_wrapper['generator']))
        return log_vars

    def train_discriminator(self, inputs, optimizer_wrapper):
        real_imgs = inputs['inputs']
        z = torch.randn(
            (real_imgs.shape[0], self.noise_size)).type_as(real_imgs)
        with torch.no_grad():
            fake_imgs = self.generator(z)

        disc_pred_fake = self.discriminator(fake_imgs)
        disc_pred_real = self.discriminator(real_imgs)

        parsed_losses, log_vars = self.disc_loss(disc_pred_fake,
                                                 disc_pred_real)
        optimizer_wrapper.update_params(parsed_losses)
        return log_vars

    def train_generator(self, inputs, optimizer_wrapper):
        real_imgs = inputs['inputs']
        z = torch.randn(real_imgs.shape[0], self.noise_size).type_as(real_imgs)

        fake_imgs = self.generator(z)

        disc_pred_fake = self.discriminator(fake_imgs)
        parsed_loss, log_vars = self.gen_loss(disc_pred_fake)

        optimizer_wrapper.update_params(parsed_loss)
        return log_vars


def points(size: int, seed: int = 0) -> List[dict]:
    gen = torch.Generator().manual_seed(seed)
    return [dict(inputs=p) for p in 1 + 0.1 * torch.randn(size, 1,
                                                          generator=gen)]


class FlipPreprocessor(nn.Module):
    """A deterministic 'batch augmentation': negates inputs and targets
    when ``training`` (the seed's custom update turns it on, then off)."""

    def forward(self, data, training=False):
        inputs, targets = data
        return (-inputs, -targets) if training else (inputs, targets)


class CustomModel(BaseModel):
    """The seed's model with a custom update (section 5): two updates per
    batch, augmentation on for the first and off for the second."""

    def __init__(self) -> None:
        super().__init__(data_preprocessor=FlipPreprocessor())
        self.linear = nn.Linear(1, 1)

    def forward(self, data, mode='tensor'):
        inputs, targets = data
        return F.mse_loss(self.linear(inputs), targets)

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, training=True)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)
        data = self.data_preprocessor(data, training=False)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)


class CustomDistributedDataParallel(MMSeparateDistributedDataParallel):
    """The seed's distributed form of the same update. Tests register it in
    ``MODEL_WRAPPERS`` inside the rank processes only (a second registration
    of the name in one process is an error), and count its calls."""

    calls = 0

    def train_step(self, data, optim_wrapper):
        type(self).calls += 1
        data = self.data_preprocessor(data, training=True)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)
        data = self.data_preprocessor(data, training=False)
        loss = self(data, mode='loss')
        optim_wrapper.update_params(loss)


# ----------------------------------------------------------------- legacy
class MMCVToyModel(nn.Module):
    """The seed document's MMCV model (section 1)."""

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


class MMCVToyModelWithTest(MMCVToyModel):
    """The seed's MMCV model plus the test mode mmcv's ``single_gpu_test``/
    ``multi_gpu_test`` call: ``model(return_loss=False, **data)`` gives one
    prediction per sample."""

    def forward(self, img, label, return_loss=False):
        if return_loss:
            return super().forward(img, label, return_loss)
        return list(self.linear(img))


class MMCVGAN(nn.Module):
    """The seed's GAN in its MMCV form (section 3): ``train_step`` steps its
    two optimizers itself (mmcv's ``optimizer_config=None``)."""

    def __init__(self, noise_size: int = 2) -> None:
        super().__init__()
        self.noise_size = noise_size
        self.generator = nn.Linear(noise_size, 1)
        self.discriminator = nn.Sequential(nn.Linear(1, 4), nn.Tanh(),
                                           nn.Linear(4, 1))

    disc_loss = SeedGAN.disc_loss
    gen_loss = SeedGAN.gen_loss

    def train_step(self, data, optimizer):
        log_vars = self.train_discriminator(data, optimizer['discriminator'])
        log_vars.update(
            self.train_generator(data, optimizer['generator']))
        return dict(log_vars={k: float(v) for k, v in log_vars.items()},
                    num_samples=len(data['inputs']))

    def train_discriminator(self, inputs, optimizer):
        real_imgs = inputs['inputs']
        z = torch.randn(
            (real_imgs.shape[0], self.noise_size)).type_as(real_imgs)
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
        z = torch.randn(inputs['inputs'].shape[0], self.noise_size).type_as(
            real_imgs)

        fake_imgs = self.generator(z)

        disc_pred_fake = self.discriminator(fake_imgs)
        parsed_loss, log_vars = self.gen_loss(disc_pred_fake)

        parsed_loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return log_vars


class EvalSet(Dataset):
    """A validation set with mmcv's ``evaluate(results, logger)``; each
    evaluation's metrics are also kept in ``history``."""

    def __init__(self, size: int, seed: int = 1) -> None:
        self.items = pairs(size, seed)
        self.history: List[dict] = []

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        img, label = self.items[index]
        return dict(img=img, label=label)

    def evaluate(self, results: list, logger=None) -> dict:
        errors = [float((pred - label).abs().sum())
                  for pred, (_, label) in zip(results, self.items)]
        metrics = dict(mae=sum(errors) / len(errors), count=len(results))
        self.history.append(metrics)
        return metrics
