"""Models and generated data shared by every benchmark path.

This module imports nothing but torch, because the very same definitions run
in our process (against ``legacy``/``compat``/``engine``) and in the reference
interpreter (against mmcv/mmengine): parity means nothing unless both sides
train literally the same code.

Two families at two scales:

* ``single`` - a model with one optimizer: the seed document's toy regression
  (``toy``) and a small BatchNorm CNN classifier (``cnn``).
* ``gan`` - the seed document's GAN pattern, two optimizers stepped by the
  model itself: an MLP GAN on 2-D points (``toy``) and a conv GAN (``cnn``).

Every model appends its reduced training loss(es) to ``loss_trace``; that is
the loss curve the parity table compares, recorded identically whichever
runner drives the model. GANs draw their noise from a generator they own, so
the curve does not depend on how much global RNG a runner consumes.

The native ports subclass whatever ``BaseModel`` they are given (ours or
mmengine's) and keep the parameter names of the legacy model, so final
weights compare key by key. Their ``loss`` is the legacy model's already
reduced loss: ``parse_losses`` takes its mean (a no-op on a 0-d tensor), so
all paths back-propagate the bitwise-same value.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

SCALES = ('toy', 'cnn')
KINDS = ('single', 'gan')


# ----------------------------------------------------------------- data
def toy_data() -> list:
    """The seed document's dataset: 50 identical (input, target) pairs."""
    return [(torch.ones(1, 1), torch.ones(1, 1))] * 50


def cnn_data(num: int = 128, size: int = 16, classes: int = 4) -> list:
    """Images whose class is a bright quadrant, plus noise: learnable fast."""
    gen = torch.Generator().manual_seed(1234)
    imgs = torch.randn(num, 3, size, size, generator=gen) * 0.5
    labels = torch.randint(0, classes, (num,), generator=gen)
    half = size // 2
    for i, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        imgs[i, :, row * half:(row + 1) * half, col * half:(col + 1) * half] += 1.0
    return [(imgs[i], labels[i]) for i in range(num)]


def ring_points(num: int = 64) -> list:
    """2-D points on a noisy ring: the real distribution of the toy GAN."""
    gen = torch.Generator().manual_seed(4321)
    angle = torch.rand(num, generator=gen) * 6.283185307179586
    radius = 1.0 + 0.05 * torch.randn(num, generator=gen)
    points = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    return [dict(inputs=p) for p in points]


def blob_images(num: int = 64, size: int = 8) -> list:
    """One-channel images of a bright square at a random place (conv GAN)."""
    gen = torch.Generator().manual_seed(2468)
    imgs = torch.full((num, 1, size, size), -1.0)
    corners = torch.randint(0, size - 3, (num, 2), generator=gen).tolist()
    for i, (r, c) in enumerate(corners):
        imgs[i, :, r:r + 3, c:c + 3] = 1.0
    return [dict(inputs=img) for img in imgs]


# ------------------------------------------------- single-optimizer models
def _toy_losses(feat: torch.Tensor, label: torch.Tensor):
    loss1 = (feat - label).pow(2)
    loss2 = (feat - label).abs()
    return loss1, loss2


class LegacyToy(nn.Module):
    """The seed document's MMCVToyModel, plus the loss trace."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.loss_trace: List[torch.Tensor] = []

    def forward(self, img, label, return_loss=False):
        feat = self.linear(img)
        loss1, loss2 = _toy_losses(feat, label)
        loss = (loss1 + loss2).sum()
        self.loss_trace.append(loss.detach())
        return dict(loss=loss, num_samples=len(img),
                    log_vars=dict(loss1=loss1.sum().item(),
                                  loss2=loss2.sum().item()))

    def train_step(self, data, optimizer=None):
        return self(*data, return_loss=True)

    def val_step(self, data, optimizer=None):
        return self(*data, return_loss=False)


def _cnn_layers(classes: int = 4) -> Dict[str, nn.Module]:
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return dict(backbone=backbone, head=nn.Linear(16, classes))


class LegacyCNN(nn.Module):
    """A small classifier written the MMCV 1.x way (reduced loss, float logs)."""

    def __init__(self) -> None:
        super().__init__()
        for name, layer in _cnn_layers().items():
            self.add_module(name, layer)
        self.loss_trace: List[torch.Tensor] = []

    def forward(self, img, label=None, return_loss=True):
        logits = self.head(self.backbone(img))
        if not return_loss:
            return logits
        loss = F.cross_entropy(logits, label)
        self.loss_trace.append(loss.detach())
        return dict(loss=loss, num_samples=len(img),
                    log_vars=dict(loss=loss.item()))

    def train_step(self, data, optimizer=None):
        return self(*data, return_loss=True)

    def val_step(self, data, optimizer=None):
        return self(*data, return_loss=False)


@functools.lru_cache(maxsize=None)
def _fp16_class(cls: type, auto_fp16: Callable) -> type:
    forward = auto_fp16(apply_to=('img',))(cls.forward)
    return type(cls.__name__, (cls,),
                dict(forward=forward, __module__=cls.__module__))


def with_auto_fp16(model: nn.Module, auto_fp16: Callable) -> nn.Module:
    """Give ``model`` the ``@auto_fp16(apply_to=('img',))`` forward and the
    ``fp16_enabled = False`` flag an MMCV-era mixed-precision model is
    written with (``wrap_fp16_model`` turns on only models that have the
    flag). The decorator comes from the framework under test."""
    model.__class__ = _fp16_class(type(model), auto_fp16)
    model.fp16_enabled = False
    return model


# --------------------------------------------------------------- GANs
def _toy_gan_nets():
    generator = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    discriminator = nn.Sequential(
        nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    return generator, discriminator, 4


def _conv_gan_nets():
    generator = nn.Sequential(
        nn.Linear(8, 16 * 2 * 2), nn.Unflatten(1, (16, 2, 2)), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 1))
    return generator, discriminator, 8


class _GANLosses:
    """Loss maths and noise shared by the legacy GAN and its native port."""

    def _setup(self, nets) -> None:
        self.generator, self.discriminator, self.noise_size = nets
        self.noise = torch.Generator().manual_seed(0)
        self.loss_trace: List[torch.Tensor] = []
        self._pending: List[torch.Tensor] = []

    def _z(self, real: torch.Tensor) -> torch.Tensor:
        z = torch.randn((real.shape[0], self.noise_size), generator=self.noise)
        return z.type_as(real)

    def disc_loss(self, pred_fake, pred_real):
        loss = F.softplus(pred_fake).mean() + F.softplus(-pred_real).mean()
        self._pending.append(loss.detach())
        return loss, dict(loss_disc=loss.item())

    def gen_loss(self, pred_fake):
        loss = F.softplus(-pred_fake).mean()
        self._pending.append(loss.detach())
        self.loss_trace.append(torch.stack(self._pending))
        self._pending = []
        return loss, dict(loss_gen=loss.item())


class LegacyGAN(_GANLosses, nn.Module):
    """The seed document's MMCV-style GAN: ``train_step`` steps both optimizers."""

    def __init__(self, nets) -> None:
        nn.Module.__init__(self)
        self._setup(nets)

    def train_discriminator(self, inputs, optimizer):
        real_imgs = inputs['inputs']
        z = self._z(real_imgs)
        with torch.no_grad():
            fake_imgs = self.generator(z)
        disc_pred_fake = self.discriminator(fake_imgs)
        disc_pred_real = self.discriminator(real_imgs)
        parsed_losses, log_vars = self.disc_loss(disc_pred_fake, disc_pred_real)
        parsed_losses.backward()
        optimizer.step()
        optimizer.zero_grad()
        return log_vars

    def train_generator(self, inputs, optimizer):
        real_imgs = inputs['inputs']
        fake_imgs = self.generator(self._z(real_imgs))
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

    def forward(self, inputs):
        return self.generator(self._z(inputs))


# ------------------------------------------------------- native ports
@functools.lru_cache(maxsize=None)
def native_classes(base_model: type) -> Dict[str, type]:
    """Native ``BaseModel`` ports of the legacy models, built on ``base_model``.

    Cached per base class so that repeated runs share one class object.
    """

    class NativeToy(base_model):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(1, 1)
            self.loss_trace: List[torch.Tensor] = []

        def forward(self, img, label=None, mode='tensor'):
            feat = self.linear(img)
            if mode == 'loss':
                loss1, loss2 = _toy_losses(feat, label)
                loss = (loss1 + loss2).sum()
                self.loss_trace.append(loss.detach())
                return dict(loss=loss)
            if mode == 'predict':
                return [f for f in feat]
            return feat

    class NativeCNN(base_model):
        def __init__(self) -> None:
            super().__init__()
            for name, layer in _cnn_layers().items():
                self.add_module(name, layer)
            self.loss_trace: List[torch.Tensor] = []

        def forward(self, img, label=None, mode='tensor'):
            logits = self.head(self.backbone(img))
            if mode == 'loss':
                loss = F.cross_entropy(logits, label)
                self.loss_trace.append(loss.detach())
                return dict(loss=loss)
            if mode == 'predict':
                return [row for row in logits.argmax(1)]
            return logits

    class NativeGAN(_GANLosses, base_model):
        def __init__(self, nets) -> None:
            base_model.__init__(self)
            self._setup(nets)

        def train_discriminator(self, inputs, optim_wrapper):
            real_imgs = inputs['inputs']
            z = self._z(real_imgs)
            with torch.no_grad():
                fake_imgs = self.generator(z)
            disc_pred_fake = self.discriminator(fake_imgs)
            disc_pred_real = self.discriminator(real_imgs)
            parsed_losses, log_vars = self.disc_loss(disc_pred_fake,
                                                     disc_pred_real)
            optim_wrapper.update_params(parsed_losses)
            return log_vars

        def train_generator(self, inputs, optim_wrapper):
            real_imgs = inputs['inputs']
            fake_imgs = self.generator(self._z(real_imgs))
            disc_pred_fake = self.discriminator(fake_imgs)
            parsed_loss, log_vars = self.gen_loss(disc_pred_fake)
            optim_wrapper.update_params(parsed_loss)
            return log_vars

        def train_step(self, data, optim_wrapper):
            data = self.data_preprocessor(data, True)
            log_vars = self.train_discriminator(
                data, optim_wrapper['discriminator'])
            log_vars.update(
                self.train_generator(data, optim_wrapper['generator']))
            return log_vars

        def forward(self, inputs, mode='tensor'):
            return self.generator(self._z(inputs))

    return dict(toy=NativeToy, cnn=NativeCNN, gan=NativeGAN)


# ----------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    """One model family at one scale: data, epochs and both model styles."""

    kind: str
    scale: str
    batch_size: int
    max_epochs: int
    make_data: Callable[[], list]
    make_legacy: Callable[[], nn.Module]
    make_native: Callable[[type], nn.Module]
    # where the models train ('cpu' or 'cuda'); see parity.py --device
    device: str = 'cpu'

    @property
    def name(self) -> str:
        return f'{self.kind}-{self.scale}'


def _gan_nets(scale: str):
    return _toy_gan_nets() if scale == 'toy' else _conv_gan_nets()


WORKLOADS: Dict[tuple, Workload] = {
    ('single', 'toy'): Workload(
        'single', 'toy', 2, 5, toy_data, LegacyToy,
        lambda base: native_classes(base)['toy']()),
    ('single', 'cnn'): Workload(
        'single', 'cnn', 8, 4, cnn_data, LegacyCNN,
        lambda base: native_classes(base)['cnn']()),
    ('gan', 'toy'): Workload(
        'gan', 'toy', 8, 4, ring_points,
        lambda: LegacyGAN(_gan_nets('toy')),
        lambda base: native_classes(base)['gan'](_gan_nets('toy'))),
    ('gan', 'cnn'): Workload(
        'gan', 'cnn', 8, 3, blob_images,
        lambda: LegacyGAN(_gan_nets('cnn')),
        lambda base: native_classes(base)['gan'](_gan_nets('cnn'))),
}


def initial_state(workload: Workload) -> Dict[str, torch.Tensor]:
    """The one set of initial weights every path of a workload starts from."""
    torch.manual_seed(0)
    return {k: v.clone() for k, v in workload.make_legacy().state_dict().items()}


def load_initial(model: nn.Module, state: Dict[str, Any]) -> nn.Module:
    """Load ``state`` into ``model``; refuse silently mismatched ports."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f'{type(model).__name__} does not match the legacy parameter '
            f'names: missing {missing}, unexpected {unexpected}')
    return model
