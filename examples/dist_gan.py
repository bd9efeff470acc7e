"""Seed samples 3 and 5: a GAN on several processes, each sub-network in
its own DDP.

Launch::

    torchrun --nproc_per_node=2 examples/dist_gan.py

``model_wrapper_cfg='MMSeparateDistributedDataParallel'`` wraps the
generator and the discriminator separately, so that the discriminator's
update does not wait for generator gradients that its loss never produces
(one DDP around the whole GAN would). ``train_discriminator`` and
``train_generator`` are the seed document's, unchanged: calling a sub-network
goes through its DDP, and each ``update_params`` all-reduces the gradients
of that network only. Each rank draws its own noise (``diff_rank_seed``),
yet all ranks keep the same weights.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.model import BaseModel
from engine.optim import OptimWrapper
from engine.runner import Runner

gen = torch.Generator().manual_seed(0)
real_points = [dict(inputs=p) for p in 1 + 0.1 * torch.randn(64, 1,
                                                              generator=gen)]


class ToyGAN(BaseModel):

    def __init__(self, noise_size: int = 2) -> None:
        super().__init__()
        self.noise_size = noise_size
        self.generator = nn.Linear(noise_size, 1)
        self.discriminator = nn.Sequential(
            nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, inputs, mode='tensor'):
        return self.generator(torch.randn(inputs.shape[0], self.noise_size))

    def train_step(self, data, optim_wrapper):
        inputs = self.data_preprocessor(data, True)
        log_vars = self.train_discriminator(inputs,
                                            optim_wrapper['discriminator'])
        log_vars.update(
            self.train_generator(inputs, optim_wrapper['generator']))
        return log_vars

    def disc_loss(self, disc_pred_fake, disc_pred_real):
        loss = (F.softplus(disc_pred_fake).mean() +
                F.softplus(-disc_pred_real).mean())
        return loss, dict(loss_disc=loss.detach())

    def gen_loss(self, disc_pred_fake):
        loss = F.softplus(-disc_pred_fake).mean()
        return loss, dict(loss_gen=loss.detach())

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


torch.manual_seed(0)  # the same initial weights on every rank
model = ToyGAN()
optim_wrapper = dict(
    generator=OptimWrapper(
        torch.optim.Adam(model.generator.parameters(), lr=1e-2)),
    discriminator=OptimWrapper(
        torch.optim.Adam(model.discriminator.parameters(), lr=1e-2)))
cfg = dict(model_wrapper_cfg='MMSeparateDistributedDataParallel')
runner = Runner(
    model=model,
    work_dir='tmp_dir_dist_gan',
    train_dataloader=dict(
        dataset=real_points,
        batch_size=8,  # per rank
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate')),
    train_cfg=dict(by_epoch=True, max_epochs=4),
    optim_wrapper=optim_wrapper,
    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2)),
    launcher='pytorch',
    env_cfg=dict(dist_cfg=dict(backend=None, timeout=300)),
    randomness=dict(seed=0, diff_rank_seed=True),
    cfg=cfg)
runner.train()

if __name__ == '__main__' and runner.rank == 0:
    hub = runner.message_hub
    print(f'{runner.world_size} ranks, {runner.iter} iterations: '
          f'loss_disc {hub.get_scalar("train/loss_disc").current():.4f}, '
          f'loss_gen {hub.get_scalar("train/loss_gen").current():.4f}')
