"""The parity matrix: each setting as an MMCV 1.x config and as a native one.

A setting carries two descriptions of the same training recipe:

* ``legacy_cfg`` - the MMCV 1.x config keys a team already has (``optimizer``,
  ``optimizer_config``, ``lr_config``, ``fp16``). It drives the legacy path
  directly and, through ``compat.migrate_config``, the adapted and native
  paths, so those three must agree bitwise.
* ``engine_cfg(max_iters)`` - what an MMEngine user would write by hand. Only
  the reference comparison uses it (our engine against mmengine 0.10.7 on the
  same config); beside the legacy curves it shows the drift of a naive
  hand translation, which is why migrate_config exists.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

LOG_CONFIG = dict(interval=10, hooks=[dict(type='TextLoggerHook')])


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str                       # 'single' or 'gan' (see models.KINDS)
    description: str
    legacy: Dict[str, Any]
    engine: Callable[[int], Dict[str, Any]]
    # Why the reference frameworks cannot run it on a CPU, if they cannot.
    reference_gap: Optional[str] = None

    def legacy_cfg(self) -> Dict[str, Any]:
        """A fresh copy: the runners' hook builders mutate what they get."""
        return copy.deepcopy(self.legacy)

    def engine_cfg(self, max_iters: int) -> Dict[str, Any]:
        return self.engine(max_iters)


def _sgd_step_engine(max_iters: int) -> Dict[str, Any]:
    return dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[2, 3], gamma=0.1))


def _cosine_engine(max_iters: int) -> Dict[str, Any]:
    return dict(
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                           weight_decay=1e-4),
            clip_grad=dict(max_norm=1.0, norm_type=2)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                 begin=0, end=10),
            dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-4,
                 by_epoch=False, begin=0, end=max_iters)])


def _accumulate_engine(max_iters: int) -> Dict[str, Any]:
    return dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9),
                           accumulative_counts=3),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[2], gamma=0.5))


def _amp_engine(max_iters: int) -> Dict[str, Any]:
    return dict(
        optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16',
                           loss_scale='dynamic',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[2], gamma=0.1))


def _gan_engine(max_iters: int) -> Dict[str, Any]:
    # Each wrapper is built over its own sub-module by paths.build_gan_wrappers.
    return dict(
        gan_optimizers=dict(
            generator=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999)),
            discriminator=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[2], gamma=0.5))


SETTINGS: Dict[str, Setting] = {s.name: s for s in [
    Setting(
        'sgd_step', 'single',
        'plain SGD, step schedule (the seed sample)',
        dict(optimizer=dict(type='SGD', lr=0.01),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[2, 3])),
        _sgd_step_engine),
    Setting(
        'momentum_clip_cosine', 'single',
        'momentum SGD, grad clipping, linear warm-up + cosine by iteration',
        dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                            weight_decay=1e-4),
             optimizer_config=dict(grad_clip=dict(max_norm=1.0, norm_type=2)),
             lr_config=dict(policy='CosineAnnealing', by_epoch=False,
                            min_lr=1e-4, warmup='linear', warmup_iters=10,
                            warmup_ratio=0.1)),
        _cosine_engine),
    Setting(
        'grad_accumulation', 'single',
        'gradient accumulation over 3 iterations, run length not divisible by 3',
        dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9),
             optimizer_config=dict(type='GradientCumulativeOptimizerHook',
                                   cumulative_iters=3),
             lr_config=dict(policy='step', step=[2], gamma=0.5)),
        _accumulate_engine),
    Setting(
        'amp_bf16', 'single',
        'mixed precision on the CPU (bfloat16 autocast, dynamic loss scale)',
        dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[2]),
             fp16=dict(loss_scale='dynamic', dtype='bfloat16')),
        _amp_engine,
        reference_gap=('mmcv 1.7.2 and mmengine 0.10.7 run mixed precision '
                       'on CUDA only')),
    Setting(
        'gan_two_optimizers', 'gan',
        'GAN-style model stepping two Adam optimizers itself',
        dict(optimizer=dict(
                 generator=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999)),
                 discriminator=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
             optimizer_config=None,
             lr_config=dict(policy='step', step=[2], gamma=0.5)),
        _gan_engine),
]}


def iters_per_epoch(num_samples: int, batch_size: int) -> int:
    """Batches of a DataLoader without ``drop_last``."""
    return -(-num_samples // batch_size)


def case(setting: str, scale: str):
    """The (setting, workload) pair named ``setting`` at ``scale``."""
    from .models import WORKLOADS
    if setting not in SETTINGS:
        raise ValueError(f'unknown setting {setting!r}; expected one of '
                         f'{sorted(SETTINGS)}')
    if scale not in ('toy', 'cnn'):
        raise ValueError(f"unknown scale {scale!r}; expected 'toy' or 'cnn'")
    return SETTINGS[setting], WORKLOADS[(SETTINGS[setting].kind, scale)]


def run_length(workload, epochs_cap=None):
    """(epochs, iterations) of one run, optionally shortened for quick runs."""
    epochs = workload.max_epochs
    if epochs_cap is not None:
        epochs = min(epochs, epochs_cap)
    per_epoch = iters_per_epoch(len(workload.make_data()), workload.batch_size)
    return epochs, epochs * per_epoch
