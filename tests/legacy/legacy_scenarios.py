"""Scenarios run once against the real mmcv 1.7.2 (by record_fixtures.py) and
against ``legacy`` (by the tests): what the log looks like, what the log
file holds, which param groups ``build_optimizer`` makes.

``api`` is a flat namespace of the MMCV runner API: ``legacy`` itself, or
mmcv's names gathered by ``record_fixtures.mmcv_api``. Imports neither.
Floats are stored as ``float.hex`` so that comparisons are bitwise.
"""
import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import List

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

HERE = Path(__file__).resolve().parent
SEED_SAMPLE = HERE.parent.parent / 'examples' / 'legacy_seed_sample.py'
VOLATILE = ('time', 'data_time', 'memory')


def hexify(value):
    """Floats (in nested lists/dicts) as float.hex strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {k: hexify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [hexify(v) for v in value]
    return hexify(float(value))


class _Collect(logging.Handler):
    """Collects ``LEVEL - message`` lines of a logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f'{record.levelname} - {record.getMessage()}')


_TIMES = re.compile(r'eta: (?:\d+ days?, )?\d+:\d\d:\d\d, time: \d+\.\d{3}, '
                    r'data_time: \d+\.\d{3}, ')


def normalize(line: str, work_dir: str) -> str:
    """Drop what depends on the clock, the host and the temporary dir."""
    line = line.replace(str(work_dir), '<work_dir>')
    line = re.sub(r'host: [^,]*,', 'host: <host>,', line)
    return _TIMES.sub('eta: <eta>, time: <t>, data_time: <t>, ', line)


def log_json_records(work_dir: str) -> list:
    """The ``.log.json`` lines without the clock-dependent values."""
    files = sorted(Path(work_dir).glob('*.log.json'))
    assert len(files) == 1, files
    records = []
    for line in files[0].read_text().splitlines():
        record = json.loads(line)
        for key in VOLATILE + ('mmcv_version', ):
            record.pop(key, None)
        records.append(hexify(record))
    return records


def seed_sample(source: str, work_dir: str) -> dict:
    """Run the seed sample (``source``: its code, importing from the API under
    test) in ``work_dir`` with a fixed seed; return the log messages, the
    log file records, the final parameters and the logger's line format."""
    torch.manual_seed(0)
    collect = _Collect()
    demo = logging.getLogger('demo')
    demo.addHandler(collect)
    cwd = os.getcwd()
    os.chdir(work_dir)
    try:
        namespace = {'__name__': '__seed__'}
        exec(compile(source, str(SEED_SAMPLE), 'exec'), namespace)
    finally:
        os.chdir(cwd)
        demo.removeHandler(collect)
    fmt = [h.formatter._fmt for h in demo.handlers
           if h is not collect and h.formatter is not None]
    model = namespace['model']
    run_dir = os.path.join(work_dir, 'tmp_dir')
    return dict(
        lines=[normalize(line, run_dir) for line in collect.lines],
        records=log_json_records(run_dir),
        params={k: hexify(v.reshape(-1).tolist())
                for k, v in model.state_dict().items()},
        formats=sorted(set(fmt)))


class RegressionModel(nn.Module):
    """A small model returning mmcv's train_step dict (float log_vars)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def train_step(self, data, optimizer=None, **kwargs):
        x, y = data
        loss = ((self.linear(x) - y)**2).mean()
        return dict(
            loss=loss, log_vars=dict(loss=loss.item()), num_samples=len(x))

    def val_step(self, data, optimizer=None, **kwargs):
        x, y = data
        loss = ((self.linear(x) - y)**2).mean()
        return dict(log_vars=dict(val_loss=loss.item()), num_samples=len(x))


class TwoOptimizerModel(nn.Module):
    """GAN-like: steps a dict of optimizers itself (optimizer_config=None)."""

    def __init__(self) -> None:
        super().__init__()
        self.gen = nn.Linear(4, 4)
        self.disc = nn.Linear(4, 1)

    def train_step(self, data, optimizer):
        x, _ = data
        fake = self.gen(x)
        loss_d = (self.disc(fake.detach()) - self.disc(x)).mean()
        optimizer['disc'].zero_grad()
        loss_d.backward()
        optimizer['disc'].step()
        loss_g = -self.disc(self.gen(x)).mean()
        optimizer['gen'].zero_grad()
        loss_g.backward()
        optimizer['gen'].step()
        return dict(
            log_vars=dict(loss_d=loss_d.item(), loss_g=loss_g.item()),
            num_samples=len(x))


def regression_loader(n: int = 22, batch_size: int = 4) -> DataLoader:
    gen = torch.Generator().manual_seed(1)
    xs = torch.randn(n, 4, generator=gen)
    ys = torch.randn(n, 1, generator=gen)
    return DataLoader([(xs[i], ys[i]) for i in range(n)],
                      batch_size=batch_size)


def _run_logged(api, work_dir: str, build) -> dict:
    """Build a runner with ``build(api, logger, work_dir)`` -> (runner,
    loaders, workflow), run it and return its normalized log."""
    name = f'scenario-{uuid.uuid4().hex[:8]}'
    logger = api.get_logger(name, log_level=logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    collect = _Collect()
    logger.addHandler(collect)
    logger.propagate = False
    torch.manual_seed(0)
    runner, loaders, workflow = build(api, logger, work_dir)
    runner.run(loaders, workflow)
    lines = [
        normalize(line, work_dir) for line in collect.lines
        if not line.startswith('INFO - Hooks will be executed')
    ]
    return dict(lines=lines, records=log_json_records(work_dir))


def _iter_runner(api, logger, work_dir):
    model = RegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = api.IterBasedRunner(
        model, optimizer=optimizer, work_dir=work_dir, logger=logger,
        max_iters=12, meta=dict(exp_name='iter_demo', seed=0))
    runner.register_training_hooks(
        lr_config=dict(policy='poly', power=1.0, min_lr=1e-3),
        optimizer_config=dict(grad_clip=dict(max_norm=1.0)),
        checkpoint_config=dict(interval=5, max_keep_ckpts=1),
        log_config=dict(interval=4, hooks=[dict(type='TextLoggerHook')]))
    return runner, [regression_loader(), regression_loader(8)], [
        ('train', 6), ('val', 2)
    ]


def _epoch_val(api, logger, work_dir):
    model = RegressionModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    runner = api.EpochBasedRunner(
        model, optimizer=optimizer, work_dir=work_dir, logger=logger,
        max_epochs=2)
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[1], warmup='linear',
                       warmup_iters=3),
        optimizer_config=dict(),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, ignore_last=False,
                        hooks=[dict(type='TextLoggerHook')]))
    return runner, [regression_loader(), regression_loader(8)], [
        ('train', 1), ('val', 1)
    ]


def _two_optimizers(api, logger, work_dir):
    model = TwoOptimizerModel()
    optimizer = dict(
        gen=torch.optim.SGD(model.gen.parameters(), lr=0.01, momentum=0.5),
        disc=torch.optim.Adam(model.disc.parameters(), lr=0.002))
    runner = api.EpochBasedRunner(
        model, optimizer=optimizer, work_dir=work_dir, logger=logger,
        max_epochs=2, meta=dict(exp_name='gan'))
    runner.register_training_hooks(
        lr_config=dict(policy='CosineAnnealing', min_lr_ratio=0.1,
                       by_epoch=False),
        optimizer_config=None,
        log_config=dict(interval=3, hooks=[dict(type='TextLoggerHook')]))
    return runner, [regression_loader()], [('train', 1)]


LOGGED_RUNS = dict(
    iter_runner=_iter_runner,
    epoch_val=_epoch_val,
    two_optimizers=_two_optimizers,
)


def logged_run(api, name: str, work_dir: str) -> dict:
    """Console messages and log file records of one of ``LOGGED_RUNS``."""
    return _run_logged(api, work_dir, LOGGED_RUNS[name])


class ParamwiseNet(nn.Module):
    """Every kind of layer mmcv's paramwise rules tell apart."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.dwconv = nn.Conv2d(4, 4, 3, groups=4)
        self.gn = nn.GroupNorm(2, 4)
        self.sub = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
        self.head = nn.Linear(4, 2)
        self.frozen = nn.Linear(2, 2)
        self.frozen.weight.requires_grad_(False)


PARAMWISE_CFGS = dict(
    plain=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    mults=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
        paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.5,
                           norm_decay_mult=0., dwconv_decay_mult=0.1)),
    custom_keys=dict(
        type='AdamW', lr=1e-3, weight_decay=0.05,
        paramwise_cfg=dict(custom_keys={
            'sub': dict(lr_mult=0.1, decay_mult=0.5),
            'sub.1': dict(lr_mult=0.2),
            'head': dict(lr_mult=10.),
        }, norm_decay_mult=0.)),
    no_weight_decay=dict(
        type='SGD', lr=0.05,
        paramwise_cfg=dict(bias_lr_mult=0.5,
                           custom_keys={'conv': dict(lr_mult=0.3)})),
)


def paramwise_groups(api, name: str) -> list:
    """The groups ``build_optimizer`` makes: parameter names and options."""
    torch.manual_seed(0)
    model = ParamwiseNet()
    names = {id(p): n for n, p in model.named_parameters()}
    optimizer = api.build_optimizer(model, PARAMWISE_CFGS[name])
    keep = ('lr', 'weight_decay', 'momentum', 'betas')
    return [
        dict(params=[names[id(p)] for p in group['params']],
             **{k: hexify(group[k]) for k in keep if k in group})
        for group in optimizer.param_groups
    ]
