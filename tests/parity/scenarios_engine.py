"""Engine scenarios (issue 2): each ``run(api, work_dir)`` trains on
``api.runner.Runner`` (mmengine's or ours) and returns plain data.

A result maps a phase name (``'run'``, or ``'uninterrupted'``,
``'interrupted'``, ``'resumed'``) to a record:

- ``params``: the final ``state_dict`` (parameters and buffers), flattened;
- ``lr``: per training iteration, ``{optimizer name: [hparams per group]}``
  as seen in ``before_train_iter`` at the lowest priority, i.e. the values
  the update of that iteration uses (name ``''`` for a single wrapper);
- ``groups``: every recorded hyper-parameter of each group at iteration 0;
- ``outputs``: per iteration, what ``train_step`` returned (log variables);
- ``counters``: per iteration ``[epoch, iter, batch_idx]``;
- ``log``: the records of the scalar JSON log, wall-clock keys dropped;
- ``metrics``: the metrics handed to ``after_val_epoch``, with the counters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from .common import (GROUP_KEYS, SEED, Interrupted, checkpoint_names, encode,
                     group_hparams, loader, read_scalar_log, regression_data,
                     seed_everything, state_of, to_float, unique_name)
from .models import engine_models, mae_metric


def wrapper_hparams(optim_wrapper, keys=('lr', 'momentum', 'betas')) -> dict:
    """The groups of the torch optimizer(s) inside the wrapper: the values
    the update uses (mmengine's ``OptimWrapper.param_groups`` appends a
    pseudo group, ``base_param_settings``, when there are several)."""
    if hasattr(optim_wrapper, 'items'):  # OptimWrapperDict
        return {name: group_hparams(w.optimizer.param_groups, keys)
                for name, w in optim_wrapper.items()}
    return {'': group_hparams(optim_wrapper.optimizer.param_groups, keys)}


def make_recorder(api):
    class ParityRecorder(api.hooks.Hook):
        """Reads what the run did, at the lowest priority of each stage."""

        def __init__(self) -> None:
            self.lr, self.outputs, self.counters, self.metrics = [], [], [], []
            self.groups = None

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if self.groups is None:
                self.groups = wrapper_hparams(runner.optim_wrapper,
                                              GROUP_KEYS)
            self.lr.append(wrapper_hparams(runner.optim_wrapper))
            self.counters.append([runner.epoch, runner.iter, batch_idx])

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.outputs.append({k: to_float(v) for k, v in outputs.items()})

        def after_val_epoch(self, runner, metrics=None):
            self.metrics.append(dict(epoch=runner.epoch, iter=runner.iter,
                                     metrics=dict(metrics or {})))

    return ParityRecorder()


def make_stopper(api, epoch: int):
    class StopAfterEpoch(api.hooks.Hook):
        """Kills the run after ``epoch`` epochs, once its checkpoint is
        written: a job preempted between two epochs."""

        def after_train_epoch(self, runner):
            if runner.epoch + 1 == epoch:
                raise Interrupted(f'stopped after epoch {epoch}')

    return StopAfterEpoch()


def train(api, work_dir: Path, model, name: str, stop_after_epoch=None,
          trained=None, **runner_kwargs) -> dict:
    """Build a Runner around ``model``, train it and collect the record.

    ``trained`` is the module whose final state is recorded when ``model``
    wraps it (compat's adapter); it defaults to ``model``.
    """
    runner_kwargs.setdefault('randomness', dict(seed=SEED))
    runner = api.runner.Runner(
        model=model, work_dir=str(work_dir),
        experiment_name=unique_name(name), **runner_kwargs)
    recorder = make_recorder(api)
    runner.register_hook(recorder, priority='LOWEST')
    if stop_after_epoch is not None:
        runner.register_hook(make_stopper(api, stop_after_epoch),
                             priority='LOWEST')
    try:
        runner.train()
    except Interrupted:
        pass
    trained = model if trained is None else trained
    return encode(dict(params=state_of(trained), lr=recorder.lr,
                       groups=recorder.groups, outputs=recorder.outputs,
                       counters=recorder.counters, metrics=recorder.metrics,
                       log=read_scalar_log(work_dir),
                       checkpoints=checkpoint_names(work_dir)))


def _regression(n: int, batch: int, seed: int, in_shape=(4,), out_dim=1):
    return loader(regression_data(n, in_shape, out_dim, seed), batch)


def _sgd(lr=0.1, **extra) -> dict:
    return dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9,
                               weight_decay=1e-4), **extra)


def _logger(interval: int) -> dict:
    return dict(logger=dict(type='LoggerHook', interval=interval))


def toy(api, work_dir: Path) -> dict:
    """The seed document's MMEngine sample, as written (5 epochs of 25)."""
    seed_everything()
    model = engine_models(api).MMEngineToyModel()
    train_dataset = [(torch.ones(1, 1), torch.ones(1, 1))] * 50
    return {'run': train(
        api, work_dir, model, 'toy',
        train_dataloader=loader(train_dataset, 2),
        train_cfg=dict(by_epoch=True, max_epochs=5),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)))}


def accumulate_clip(api, work_dir: Path) -> dict:
    """accumulative_counts=3 over 2 x 10 iterations (a group spans the epoch
    boundary, the last group has 2) with clipping by norm."""
    seed_everything()
    model = engine_models(api).Regressor()
    return {'run': train(
        api, work_dir, model, 'accumulate_clip',
        train_dataloader=_regression(40, 4, seed=1),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=_sgd(0.05, accumulative_counts=3,
                           clip_grad=dict(max_norm=0.5)),
        default_hooks=_logger(3))}


def warmup_multistep(api, work_dir: Path) -> dict:
    """LinearLR warm-up over 5 iterations, then MultiStepLR by epoch."""
    seed_everything()
    model = engine_models(api).Regressor()
    return {'run': train(
        api, work_dir, model, 'warmup_multistep',
        train_dataloader=_regression(24, 4, seed=2),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        optim_wrapper=_sgd(),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                 begin=0, end=5),
            dict(type='MultiStepLR', by_epoch=True, milestones=[2, 3],
                 gamma=0.1)],
        default_hooks=_logger(4))}


def cosine_iter_based(api, work_dir: Path) -> dict:
    """Cosine lr and momentum written by epoch, run by iteration."""
    seed_everything()
    model = engine_models(api).Regressor()
    return {'run': train(
        api, work_dir, model, 'cosine_iter_based',
        train_dataloader=_regression(20, 4, seed=3),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=_sgd(),
        param_scheduler=[
            dict(type='CosineAnnealingLR', by_epoch=True, T_max=3,
                 eta_min=1e-3, convert_to_iter_based=True),
            dict(type='CosineAnnealingMomentum', by_epoch=True, T_max=3,
                 eta_min=0.8, convert_to_iter_based=True)],
        default_hooks=_logger(4))}


def iter_loop_validation(api, work_dir: Path) -> dict:
    """IterBasedTrainLoop (20 iterations over a 6-batch loader) validating
    every 5 iterations with a metric, MultiStepLR by iteration."""
    seed_everything()
    model = engine_models(api).Regressor()
    return {'run': train(
        api, work_dir, model, 'iter_loop_validation',
        train_dataloader=_regression(24, 4, seed=4),
        val_dataloader=_regression(10, 5, seed=5),
        train_cfg=dict(by_epoch=False, max_iters=20, val_interval=5),
        val_cfg=dict(),
        val_evaluator=[mae_metric(api)],
        optim_wrapper=_sgd(),
        param_scheduler=dict(type='MultiStepLR', by_epoch=False,
                             milestones=[8, 15], gamma=0.5),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=5),
            checkpoint=dict(type='CheckpointHook', interval=10,
                            by_epoch=False)))}


def resume(api, work_dir: Path) -> dict:
    """4 epochs uninterrupted; the same run killed after epoch 2; a new
    Runner resuming from that run's ``epoch_2.pth``."""
    def phase(name: str, **extra) -> dict:
        seed_everything()
        model = engine_models(api).Regressor()
        return train(
            api, work_dir / name, model, f'resume-{name}',
            train_dataloader=_regression(20, 4, seed=6),
            train_cfg=dict(by_epoch=True, max_epochs=4),
            optim_wrapper=_sgd(),
            param_scheduler=[
                dict(type='LinearLR', start_factor=0.2, by_epoch=False,
                     begin=0, end=4),
                dict(type='MultiStepLR', by_epoch=True, milestones=[1, 3],
                     gamma=0.1)],
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=2),
                checkpoint=dict(type='CheckpointHook', interval=1,
                                max_keep_ckpts=2)),
            **extra)

    return {
        'uninterrupted': phase('uninterrupted'),
        'interrupted': phase('interrupted', stop_after_epoch=2),
        'resumed': phase(
            'resumed', resume=True,
            load_from=str(work_dir / 'interrupted' / 'epoch_2.pth')),
    }


def paramwise_adamw(api, work_dir: Path) -> dict:
    """AdamW with bias/norm decay multipliers and a ``head`` custom key on
    a conv + BN model (BN statistics are part of the final state)."""
    seed_everything()
    model = engine_models(api).ConvRegressor()
    return {'run': train(
        api, work_dir, model, 'paramwise_adamw',
        train_dataloader=_regression(16, 4, seed=7, in_shape=(3, 6, 6),
                                     out_dim=2),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
            paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.,
                               norm_decay_mult=0.,
                               custom_keys={'head': dict(lr_mult=0.1)})),
        default_hooks=_logger(2))}


SCENARIOS: dict[str, Callable[..., dict]] = {
    f.__name__: f for f in (toy, accumulate_clip, warmup_multistep,
                            cosine_iter_based, iter_loop_validation, resume,
                            paramwise_adamw)
}
