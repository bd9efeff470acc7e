"""A small training job that the fault-injection tests run in a child process
(so that it can be killed or signalled for real).

    python child_train.py API WORK_DIR [--pause-at N --pause MODE]
                          [--resume] [--out FILE]

API is one of engine-epoch, engine-iter, legacy-epoch, legacy-iter. The job
trains a tiny regressor with dropout on shuffled data (so that the random
generators, the sampler and the data position all matter for an exact
resume), writing checkpoints as it goes. ``--pause-at N`` makes it stop after
iteration N and wait there: for ``kill`` until it is killed, for ``signal``
until the test has sent its signal (the test then writes the file
``signalled``); ``save`` makes it wait half-way through writing the
checkpoint of epoch N instead. ``--out`` receives the final parameters.
"""
import argparse
import io
import os
import os.path as osp
import sys
import time
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

EPOCHS, ITERS, SAMPLES, BATCH = 4, 14, 20, 4
APIS = ('engine-epoch', 'engine-iter', 'legacy-epoch', 'legacy-iter')


class Pairs(Dataset):
    """Regression pairs; ``loaded`` counts the samples actually read."""

    def __init__(self, size: int = SAMPLES) -> None:
        gen = torch.Generator().manual_seed(1)
        self.x = torch.randn(size, 3, generator=gen)
        self.y = self.x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
        self.loaded = 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int):
        self.loaded += 1
        return self.x[index], self.y[index]


def loader() -> DataLoader:
    return DataLoader(Pairs(), batch_size=BATCH, shuffle=True)


class Pause:
    """After iteration ``at`` (1-based), announce it with the file ``paused``
    and wait: forever (to be killed) or until ``signalled`` appears."""

    def __init__(self, work_dir: str, at: int, mode: str) -> None:
        self.work_dir, self.at, self.mode = work_dir, at, mode

    def __call__(self, iteration: int) -> None:
        if iteration == self.at:
            self.wait(iteration)

    def wait(self, where: Any) -> None:
        with open(osp.join(self.work_dir, 'paused'), 'w') as f:
            f.write(str(where))
        deadline = time.monotonic() + 60
        flag = osp.join(self.work_dir, 'signalled')
        while time.monotonic() < deadline:
            if self.mode == 'signal' and osp.exists(flag):
                return
            time.sleep(0.005)
        sys.exit('nobody came: the test did not kill or signal the job')


def pause_inside_save(pause: Pause, epoch: int) -> None:
    """Make the save of epoch ``epoch``'s checkpoint write half its bytes
    and wait there (to be killed in the middle of writing)."""
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        meta = obj.get('meta', {}) if isinstance(obj, dict) else {}
        if meta.get('epoch') == epoch and hasattr(f, 'write'):
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
            f.flush()
            pause.wait(f'saving epoch {epoch}')
        return real_save(obj, f, *args, **kwargs)

    torch.save = save


def _engine_model():
    from engine.model import BaseModel

    class Regressor(BaseModel):
        poison = None  # a factor for the loss (NaN/Inf injection)

        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(3, 1)
            self.dropout = nn.Dropout(0.2)

        def forward(self, inputs, targets=None, mode='tensor'):
            out = self.linear(self.dropout(inputs))
            if mode == 'loss':
                loss = ((out - targets)**2).mean()
                if self.poison is not None:
                    loss = loss * self.poison
                return dict(loss=loss)
            return out

    return Regressor()


def engine_runner(work_dir: str, by_epoch: bool = True, name: str = None,
                  custom_hooks: list = (), **overrides: Any):
    """The engine job's Runner (``overrides`` replace its arguments)."""
    from engine.runner import Runner
    torch.manual_seed(0)  # the model is built before the Runner seeds
    kwargs = dict(
        model=_engine_model(),
        work_dir=work_dir,
        train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS) if by_epoch else
        dict(by_epoch=False, max_iters=ITERS),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR',
                             milestones=[2, 3] if by_epoch else [6, 10],
                             by_epoch=by_epoch),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=by_epoch,
                            interval=1 if by_epoch else 3),
            logger=dict(type='LoggerHook', interval=2)),
        custom_hooks=list(custom_hooks),
        randomness=dict(seed=0),
        log_level='WARNING',
        experiment_name=name or f'child_{os.getpid()}')
    kwargs.update(overrides)
    return Runner(**kwargs)


class LegacyRegressor(nn.Module):
    """An MMCV-style model: ``train_step`` returns the reduced loss."""

    poison = None  # a factor for the loss (NaN/Inf injection)

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.dropout = nn.Dropout(0.2)

    def train_step(self, data, optimizer=None):
        inputs, targets = data
        loss = ((self.linear(self.dropout(inputs)) - targets)**2).mean()
        if self.poison is not None:
            loss = loss * self.poison
        return dict(loss=loss, log_vars=dict(loss=loss.item()),
                    num_samples=len(inputs))

    def val_step(self, data, optimizer=None):
        with torch.no_grad():
            return self.train_step(data)


def legacy_runner(work_dir: str, by_epoch: bool = True, name: str = None,
                  hooks: list = (), checkpoint_config: Any = 'default',
                  optimizer_config: Any = None, model: nn.Module = None):
    """The legacy job's runner with its training hooks registered (and
    ``hooks`` at the lowest priority)."""
    import legacy
    legacy.set_random_seed(0)
    model = model or LegacyRegressor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    logger = legacy.get_logger(name or f'child_{os.getpid()}',
                               log_level='WARNING')
    runner_type = legacy.EpochBasedRunner if by_epoch else \
        legacy.IterBasedRunner
    length = dict(max_epochs=EPOCHS) if by_epoch else dict(max_iters=ITERS)
    runner = runner_type(model, optimizer=optimizer, work_dir=work_dir,
                         logger=logger, **length)
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[2, 3] if by_epoch else [6, 10]),
        optimizer_config=optimizer_config or dict(grad_clip=None),
        checkpoint_config=dict(interval=1 if by_epoch else 3)
        if checkpoint_config == 'default' else checkpoint_config,
        log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))
    for hook in hooks:
        runner.register_hook(hook, priority='LOWEST')
    return runner


def legacy_workflow(by_epoch: bool = True) -> list:
    return [('train', 1 if by_epoch else ITERS)]


def engine_job(args, pause) -> nn.Module:
    from engine.hooks import Hook

    class PauseHook(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            pause(runner.iter + 1)

    runner = engine_runner(args.work_dir, args.api == 'engine-epoch',
                           custom_hooks=[PauseHook()], resume=args.resume)
    runner.train()
    return runner.model


def legacy_job(args, pause) -> nn.Module:
    import legacy

    class PauseHook(legacy.Hook):
        def after_train_iter(self, runner):
            pause(runner.iter + 1)

    by_epoch = args.api == 'legacy-epoch'
    runner = legacy_runner(args.work_dir, by_epoch, hooks=[PauseHook()])
    if args.resume:
        runner.resume(osp.join(args.work_dir, 'latest.pth'))
    runner.run([loader()], legacy_workflow(by_epoch))
    return runner.model


def run_job(api: str, work_dir: str, pause_at: int = 0,
            pause: str = 'kill', resume: bool = False,
            out: str = None) -> None:
    """Train; ``out`` receives the final parameters. ``pause='save'`` pauses
    (to be killed) half-way through writing epoch ``pause_at``'s
    checkpoint."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(work_dir, exist_ok=True)
    args = argparse.Namespace(api=api, work_dir=work_dir, resume=resume)
    waiter = Pause(work_dir, pause_at, 'kill' if pause == 'save' else pause)
    if pause == 'save':
        pause_inside_save(waiter, pause_at)
        waiter = Pause(work_dir, 0, 'kill')
    job = engine_job if api.startswith('engine') else legacy_job
    model = job(args, waiter)
    if out:
        model = getattr(model, 'module', model)
        torch.save({k: v.detach().clone()
                    for k, v in model.state_dict().items()}, out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('api', choices=APIS)
    parser.add_argument('work_dir')
    parser.add_argument('--pause-at', type=int, default=0)
    parser.add_argument('--pause', choices=['kill', 'signal', 'save'],
                        default='kill')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--out')
    args = parser.parse_args()
    run_job(args.api, args.work_dir, args.pause_at, args.pause, args.resume,
            args.out)


if __name__ == '__main__':
    main()
