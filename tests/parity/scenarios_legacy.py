"""Legacy scenarios (issue 3): MMCV 1.x training scripts run against
``api`` (mmcv's runner or our ``legacy``), also the input of the compat
parity tests (issue 4), which train the same model with the same ``cfg``
on the engine.

Each scenario is an MMCV-style config plus a model and data, trained the way
the OpenMMLab 1.x tools do: ``build_optimizer``, ``build_runner``,
``register_training_hooks``, optionally ``resume``, then ``run``.
``run(api, work_dir)`` returns ``{phase: record}`` with the record keys of
:mod:`.scenarios_engine` except that ``outputs`` holds
``dict(loss, log_vars, num_samples)`` per iteration, ``counters`` holds
``[epoch, iter, inner_iter]`` and ``log`` holds the ``.log.json`` records.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch.optim import SGD
from torch.utils.data import DataLoader

from .common import (GROUP_KEYS, Interrupted, checkpoint_names, encode,
                     group_hparams, loader, read_mmcv_log_json,
                     regression_data, seed_everything, state_of, to_float,
                     unique_name)
from .models import ConvRegressor, MMCVToyModel, Regressor, TinyGAN


def optimizer_hparams(optimizer, keys=('lr', 'momentum', 'betas')) -> dict:
    if isinstance(optimizer, dict):
        return {name: group_hparams(opt.param_groups, keys)
                for name, opt in optimizer.items()}
    return {'': group_hparams(optimizer.param_groups, keys)}


def make_recorder(api):
    class ParityRecorder(api.Hook):
        """Reads what the run did, at the lowest priority of each stage."""

        def __init__(self) -> None:
            self.lr, self.outputs, self.counters = [], [], []
            self.groups = None

        def before_train_iter(self, runner):
            if self.groups is None:
                self.groups = optimizer_hparams(runner.optimizer, GROUP_KEYS)
            self.lr.append(optimizer_hparams(runner.optimizer))
            self.counters.append([runner.epoch, runner.iter,
                                  runner.inner_iter])

        def after_train_iter(self, runner):
            out = runner.outputs
            self.outputs.append(dict(
                loss=to_float(out['loss']) if 'loss' in out else None,
                log_vars={k: to_float(v) for k, v in out['log_vars'].items()},
                num_samples=int(out['num_samples'])))

    return ParityRecorder()


def make_stopper(api, unit: str, count: int):
    class StopAfter(api.Hook):
        """Kills the run once ``count`` epochs or iterations are done and
        checkpointed: a preempted job."""

        def after_train_epoch(self, runner):
            if unit == 'epoch' and runner.epoch + 1 == count:
                raise Interrupted(f'stopped after epoch {count}')

        def after_train_iter(self, runner):
            if unit == 'iter' and runner.iter + 1 == count:
                raise Interrupted(f'stopped after iteration {count}')

    return StopAfter()


def build_optimizers(api, model, cfg: dict):
    """One optimizer, or one per sub-module when ``cfg`` maps names to
    configs (the OpenMMLab 1.x ``build_optimizers`` convention)."""
    if 'type' in cfg:
        return api.build_optimizer(model, copy.deepcopy(cfg))
    return {name: api.build_optimizer(getattr(model, name),
                                      copy.deepcopy(sub))
            for name, sub in cfg.items()}


@dataclass(frozen=True)
class LegacyScenario:
    name: str
    model: Callable
    data: Callable[[], dict]
    cfg: dict
    doc: str = ''

    def build_runner(self, api, model, work_dir: Path, cfg: dict):
        return api.build_runner(cfg['runner'], default_args=dict(
            model=model, optimizer=build_optimizers(api, model,
                                                    cfg['optimizer']),
            work_dir=str(work_dir),
            logger=api.get_logger(unique_name(self.name)), meta=None))

    def train(self, api, work_dir: Path, resume_from: Optional[Path] = None,
              stop_after: Optional[tuple[str, int]] = None) -> dict:
        """One training job; ``resume_from`` a checkpoint, ``stop_after``
        ``('epoch' | 'iter', n)`` to kill it early."""
        cfg = copy.deepcopy(self.cfg)  # mmcv pops keys out of these dicts
        seed_everything()
        model = self.model()
        loaders = self.data()
        runner = self.build_runner(api, model, work_dir, cfg)
        runner.register_training_hooks(
            lr_config=cfg.get('lr_config'),
            optimizer_config=cfg.get('optimizer_config'),
            checkpoint_config=cfg.get('checkpoint_config'),
            log_config=cfg.get('log_config'),
            momentum_config=cfg.get('momentum_config'))
        recorder = make_recorder(api)
        runner.register_hook(recorder, priority='LOWEST')
        if stop_after is not None:
            runner.register_hook(make_stopper(api, *stop_after),
                                 priority='LOWEST')
        if resume_from is not None:
            runner.resume(str(resume_from), map_location='cpu')
        workflow = cfg['workflow']
        try:
            runner.run([loaders[mode] for mode, _ in workflow], workflow)
        except Interrupted:
            pass
        return encode(dict(
            params=state_of(model), lr=recorder.lr, groups=recorder.groups,
            outputs=recorder.outputs, counters=recorder.counters,
            log=read_mmcv_log_json(work_dir),
            checkpoints=checkpoint_names(work_dir),
            iters_per_epoch=len(loaders['train'])))

    def run(self, api, work_dir: Path) -> dict:
        return {'run': self.train(api, work_dir)}


class SeedScenario(LegacyScenario):
    """The seed document's sample builds the optimizer and the (deprecated)
    ``Runner`` itself; ``cfg`` is its config form, for compat."""

    def build_runner(self, api, model, work_dir: Path, cfg: dict):
        return api.Runner(
            model=model, work_dir=str(work_dir),
            optimizer=SGD(model.parameters(), lr=0.01),
            logger=api.get_logger(unique_name('demo')),
            max_epochs=cfg['runner']['max_epochs'])


@dataclass(frozen=True)
class ResumeScenario(LegacyScenario):
    """Uninterrupted, killed after ``stop_after``, resumed from the
    checkpoint the killed run wrote (``checkpoint``, relative to it)."""

    stop_after: tuple[str, int] = ('epoch', 2)
    checkpoint: str = 'epoch_2.pth'

    def run(self, api, work_dir: Path) -> dict:
        return {
            'uninterrupted': self.train(api, work_dir / 'uninterrupted'),
            'interrupted': self.train(api, work_dir / 'interrupted',
                                      stop_after=self.stop_after),
            'resumed': self.train(
                api, work_dir / 'resumed',
                resume_from=work_dir / 'interrupted' / self.checkpoint),
        }


# ------------------------------------------------------------------- data

def regression(n: int, batch: int, seed: int, val: Optional[int] = None,
               in_shape=(4,), out_dim=1) -> Callable[[], dict]:
    def make() -> dict:
        loaders = {'train': loader(
            regression_data(n, in_shape, out_dim, seed), batch)}
        if val is not None:
            loaders['val'] = loader(
                regression_data(val, in_shape, out_dim, seed + 100), batch)
        return loaders
    return make


def seed_data() -> dict:
    train_dataset = [(torch.ones(1, 1), torch.ones(1, 1))] * 50
    return {'train': DataLoader(train_dataset, batch_size=2)}


def gan_data() -> dict:
    samples = [dict(inputs=x) for x, _ in regression_data(20, (3,), 1, 11)]
    return {'train': loader(samples, 4)}


def sgd(lr: float = 0.1, **extra) -> dict:
    return dict(type='SGD', lr=lr, momentum=0.9, weight_decay=1e-4, **extra)


def epochs(n: int) -> dict:
    return dict(type='EpochBasedRunner', max_epochs=n)


def text_log(interval: int) -> dict:
    return dict(interval=interval, hooks=[dict(type='TextLoggerHook')])


TRAIN = [('train', 1)]

# ------------------------------------------------------------- scenarios

_SCENARIOS = [
    SeedScenario(
        'seed', MMCVToyModel, seed_data,
        dict(optimizer=dict(type='SGD', lr=0.01),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[2, 3]),
             log_config=dict(interval=10,
                             hooks=[dict(type='TextLoggerHook')]),
             runner=epochs(5), workflow=TRAIN),
        doc='the seed document sample, verbatim (5 epochs of 25)'),
    LegacyScenario(
        'sgd_clip_cosine_warmup', Regressor, regression(22, 4, seed=21),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=dict(max_norm=1.0,
                                                  norm_type=2)),
             lr_config=dict(policy='CosineAnnealing', min_lr_ratio=1e-2,
                            warmup='linear', warmup_iters=5,
                            warmup_ratio=0.1, warmup_by_epoch=False),
             momentum_config=dict(policy='CosineAnnealing',
                                  min_momentum_ratio=0.9),
             log_config=text_log(3), runner=epochs(3), workflow=TRAIN),
        doc='momentum SGD, grad_clip, cosine lr/momentum, linear warm-up; '
            'the last batch of each epoch is short (LogBuffer weights)'),
    LegacyScenario(
        'grad_cumulative', Regressor, regression(40, 4, seed=22),
        dict(optimizer=sgd(0.05),
             optimizer_config=dict(type='GradientCumulativeOptimizerHook',
                                   cumulative_iters=3,
                                   grad_clip=dict(max_norm=0.5)),
             lr_config=dict(policy='step', step=[1]),
             log_config=text_log(3), runner=epochs(2), workflow=TRAIN),
        doc='cumulative_iters=3 over 2 x 10 iterations'),
    LegacyScenario(
        'iter_poly', Regressor, regression(16, 2, seed=23),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='poly', power=0.9, min_lr=1e-4),
             log_config=text_log(6),
             runner=dict(type='IterBasedRunner', max_iters=24),
             workflow=TRAIN),
        doc='IterBasedRunner, 24 iterations over an 8-batch loader'),
    LegacyScenario(
        'workflow_val', Regressor, regression(20, 4, seed=24, val=10),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[2]),
             log_config=text_log(2), runner=epochs(3),
             workflow=[('train', 1), ('val', 1)]),
        doc="workflow [('train', 1), ('val', 1)]"),
    LegacyScenario(
        'gan', TinyGAN, gan_data,
        dict(optimizer=dict(
                 generator=dict(type='Adam', lr=2e-3, betas=(0.5, 0.999)),
                 discriminator=dict(type='Adam', lr=1e-3,
                                    betas=(0.5, 0.999))),
             optimizer_config=None,
             lr_config=dict(policy='step', step=[2]),
             log_config=text_log(2), runner=epochs(3), workflow=TRAIN),
        doc='two sub-networks, a dict of optimizers, optimizer_config=None'),
    ResumeScenario(
        'checkpoint_resume', Regressor, regression(20, 4, seed=25),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[3], warmup='linear',
                            warmup_iters=3, warmup_ratio=0.2),
             checkpoint_config=dict(interval=1, max_keep_ckpts=2),
             log_config=text_log(2), runner=epochs(4), workflow=TRAIN),
        doc='CheckpointHook(max_keep_ckpts=2), killed after epoch 2, '
            'resumed'),
    ResumeScenario(
        'iter_checkpoint_resume', Regressor, regression(16, 2, seed=26),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='step', step=[5, 15]),
             checkpoint_config=dict(interval=10),
             log_config=text_log(5),
             runner=dict(type='IterBasedRunner', max_iters=20),
             workflow=TRAIN),
        stop_after=('iter', 10), checkpoint='iter_10.pth',
        doc='IterBasedRunner killed after iteration 10, resumed'),
    LegacyScenario(
        'paramwise', ConvRegressor,
        regression(16, 4, seed=27, in_shape=(3, 6, 6), out_dim=2),
        dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                            weight_decay=1e-3,
                            paramwise_cfg=dict(
                                bias_lr_mult=2., bias_decay_mult=0.,
                                norm_decay_mult=0.,
                                custom_keys={'head': dict(lr_mult=0.1,
                                                          decay_mult=0.5)})),
             optimizer_config=dict(grad_clip=None),
             log_config=text_log(2), runner=epochs(2), workflow=TRAIN),
        doc='build_optimizer with paramwise_cfg on conv + BN'),
    LegacyScenario(
        'onecycle', Regressor, regression(24, 4, seed=28),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='OneCycle', max_lr=0.2, pct_start=0.3,
                            div_factor=25, final_div_factor=1e3),
             momentum_config=dict(policy='OneCycle', base_momentum=0.85,
                                  max_momentum=0.95),
             log_config=text_log(3), runner=epochs(3), workflow=TRAIN),
        doc='OneCycle lr and momentum'),
    LegacyScenario(
        'onecycle_three_phase', Regressor, regression(24, 4, seed=29),
        dict(optimizer=sgd(),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(policy='OneCycle', max_lr=0.2, pct_start=0.25,
                            anneal_strategy='linear', three_phase=True),
             log_config=text_log(3), runner=epochs(3), workflow=TRAIN),
        doc='OneCycle, three phases, linear annealing'),
]

# One short run (2 epochs of 5 iterations) per remaining policy, with each
# kind of warm-up.
POLICIES = {
    'fixed': dict(policy='fixed'),
    'step': dict(policy='step', step=1, gamma=0.5),
    'exp': dict(policy='exp', gamma=0.8, by_epoch=False),
    'inv': dict(policy='inv', gamma=0.2, power=0.75, by_epoch=False),
    'flat_cosine': dict(policy='FlatCosineAnnealing', start_percent=0.4,
                        min_lr_ratio=0.05, by_epoch=False),
    'cosine_restart': dict(policy='CosineRestart', periods=[4, 6],
                           restart_weights=[1, 0.5], min_lr=1e-3,
                           by_epoch=False),
    'cyclic': dict(policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=1,
                   step_ratio_up=0.4),
    'linear_annealing': dict(policy='LinearAnnealing', min_lr_ratio=0.01,
                             by_epoch=False),
}
WARMUPS = {
    'no_warmup': {},
    'constant_warmup': dict(warmup='constant', warmup_iters=3,
                            warmup_ratio=0.1),
    'linear_warmup': dict(warmup='linear', warmup_iters=3,
                          warmup_ratio=0.1),
    'exp_warmup': dict(warmup='exp', warmup_iters=3, warmup_ratio=0.1),
}
for (policy, lr_cfg), (warmup, warmup_cfg) in itertools.product(
        POLICIES.items(), WARMUPS.items()):
    _SCENARIOS.append(LegacyScenario(
        f'policy_{policy}_{warmup}', Regressor, regression(10, 2, seed=30),
        dict(optimizer=dict(type='SGD', lr=0.1),
             optimizer_config=dict(grad_clip=None),
             lr_config=dict(lr_cfg, **warmup_cfg),
             log_config=text_log(2), runner=epochs(2), workflow=TRAIN),
        doc=f'{lr_cfg["policy"]} policy, {warmup.replace("_", " ")}'))

SCENARIOS: dict[str, LegacyScenario] = {s.name: s for s in _SCENARIOS}

# Checkpoints the recorder keeps for compat's checkpoint tests:
# scenario -> {path in its work dir: file name under fixtures/}.
STORED_CHECKPOINTS = {
    'checkpoint_resume': {'interrupted/epoch_2.pth': 'mmcv_epoch_2.pth'},
    'iter_checkpoint_resume': {'interrupted/iter_10.pth':
                               'mmcv_iter_10.pth'},
}
