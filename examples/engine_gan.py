"""Seed sample 3: a GAN whose ``train_step`` drives two optimizer wrappers.

``train_discriminator`` and ``train_generator`` are the seed document's
MMEngine-style methods, unchanged; around them is the smallest complete GAN:
a generator and a discriminator (MLPs) learning points on a ring, one
``OptimWrapper`` each, handed to the Runner as a dict and combined into an
``OptimWrapperDict``. Run: ``python examples/engine_gan.py``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from engine.model import BaseModel
from engine.optim import OptimWrapper
from engine.runner import Runner


def ring_points(num: int = 64) -> list:
    gen = torch.Generator().manual_seed(0)
    angles = torch.rand(num, generator=gen) * 2 * math.pi
    points = torch.stack([angles.cos(), angles.sin()], dim=1)
    points += 0.05 * torch.randn(num, 2, generator=gen)
    return [dict(inputs=p) for p in points]


class ToyGAN(BaseModel):

    def __init__(self, noise_size: int = 4) -> None:
        super().__init__()
        self.noise_size = noise_size
        self.generator = nn.Sequential(
            nn.Linear(noise_size, 16), nn.ReLU(), nn.Linear(16, 2))
        self.discriminator = nn.Sequential(
            nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, inputs, mode='tensor'):
        z = torch.randn(inputs.shape[0], self.noise_size).type_as(inputs)
        return self.generator(z)

    def disc_loss(self, disc_pred_fake, disc_pred_real):
        loss_fake = F.binary_cross_entropy_with_logits(
            disc_pred_fake, torch.zeros_like(disc_pred_fake))
        loss_real = F.binary_cross_entropy_with_logits(
            disc_pred_real, torch.ones_like(disc_pred_real))
        loss = loss_fake + loss_real
        return loss, dict(loss_disc=loss.detach())

    def gen_loss(self, disc_pred_fake):
        loss = F.binary_cross_entropy_with_logits(
            disc_pred_fake, torch.ones_like(disc_pred_fake))
        return loss, dict(loss_gen=loss.detach())

    def train_step(self, data, optim_wrapper):
        inputs = self.data_preprocessor(data, True)
        log_vars = self.train_discriminator(inputs,
                                            optim_wrapper['discriminator'])
        log_vars.update(
            self.train_generator(inputs, optim_wrapper['generator']))
        return log_vars

    # --- the seed document's methods, unchanged ---------------------------
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


torch.manual_seed(0)
model = ToyGAN()
optim_wrapper = dict(
    generator=OptimWrapper(
        torch.optim.Adam(model.generator.parameters(), lr=2e-3,
                         betas=(0.5, 0.999))),
    discriminator=OptimWrapper(
        torch.optim.Adam(model.discriminator.parameters(), lr=2e-3,
                         betas=(0.5, 0.999))))
runner = Runner(
    model=model,
    work_dir='tmp_dir_gan',
    train_dataloader=DataLoader(ring_points(), batch_size=16, shuffle=True),
    train_cfg=dict(by_epoch=True, max_epochs=10),
    optim_wrapper=optim_wrapper,
    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=5)),
    randomness=dict(seed=0))
runner.train()

if __name__ == '__main__':
    hub = runner.message_hub
    print(f'trained {runner.iter} iterations: '
          f'loss_disc {hub.get_scalar("train/loss_disc").current():.4f}, '
          f'loss_gen {hub.get_scalar("train/loss_gen").current():.4f}')
