"""An MMCV-style GAN (seed document, section 3) trained by the engine.

The model keeps its old ``train_step(data, optimizer)``, which calls
``backward()``, ``optimizer[name].step()`` and ``zero_grad()`` itself (mmcv's
``optimizer_config=None``). ``compat.adapt`` gives it optimizer proxies backed
by the engine's ``OptimWrapperDict``, so the learning-rate schedule
translated from ``lr_config``, the logger and the checkpoints see its two
optimizers.

Run: ``python examples/compat_gan.py`` (writes ``tmp_dir_gan/``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

import compat
from engine.optim import OptimWrapper, OptimWrapperDict
from engine.runner import Runner


class ToyGAN(nn.Module):

    def __init__(self, noise_size: int = 4) -> None:
        super().__init__()
        self.noise_size = noise_size
        self.generator = nn.Sequential(nn.Linear(noise_size, 8), nn.ReLU(),
                                       nn.Linear(8, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(),
                                           nn.Linear(8, 1))

    def disc_loss(self, disc_pred_fake, disc_pred_real):
        loss = (F.softplus(disc_pred_fake).mean() +
                F.softplus(-disc_pred_real).mean())
        return loss, dict(loss_disc=loss.item())

    def gen_loss(self, disc_pred_fake):
        loss = F.softplus(-disc_pred_fake).mean()
        return loss, dict(loss_gen=loss.item())

    # --- the seed's MMCV-style methods, unchanged ---------------------------
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

    def train_step(self, data, optimizer):
        log_vars = self.train_discriminator(data, optimizer['discriminator'])
        log_vars.update(self.train_generator(data, optimizer['generator']))
        return dict(log_vars=log_vars, num_samples=len(data['inputs']))


old_cfg = dict(
    optimizer_config=None,
    lr_config=dict(policy='step', step=[2]),
    log_config=dict(interval=5, hooks=[dict(type='TextLoggerHook')]),
    runner=dict(type='EpochBasedRunner', max_epochs=3))

if __name__ == '__main__':
    torch.manual_seed(0)
    data = [dict(inputs=torch.randn(2) * 0.5 + 2) for _ in range(40)]
    loader = DataLoader(data, batch_size=4)
    model = compat.adapt(ToyGAN())
    optim_wrapper = OptimWrapperDict(
        generator=OptimWrapper(
            torch.optim.Adam(model.generator.parameters(), lr=1e-3)),
        discriminator=OptimWrapper(
            torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)))
    migrated = compat.migrate_config(old_cfg)
    print(migrated.report)
    runner = Runner(model=model, work_dir='tmp_dir_gan',
                    train_dataloader=loader, optim_wrapper=optim_wrapper,
                    **migrated)
    runner.train()
    print('final lr', optim_wrapper.get_lr())
