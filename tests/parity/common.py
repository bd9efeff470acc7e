"""Plumbing shared by both scenario families: seeding, data, encoding of
results as plain JSON data, and reading the log files the runners write.

Everything returned by a scenario goes through :func:`encode`, so a float is
stored as ``float.hex`` and a comparison of two results is bitwise.
"""
from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch.utils.data import DataLoader

SEED = 2024
# Keys whose values depend on the wall clock or the machine, never compared.
VOLATILE_KEYS = frozenset({'time', 'data_time', 'eta', 'memory'})
# Optimizer hyper-parameters recorded per param group (torch adds others,
# e.g. ``foreach``, whose defaults vary between releases).
GROUP_KEYS = ('lr', 'momentum', 'betas', 'weight_decay', 'eps', 'nesterov',
              'dampening', 'initial_lr')


class Interrupted(Exception):
    """Raised by a hook to simulate a job killed after an epoch."""


def seed_everything(seed: int = SEED) -> None:
    """Seed every generator the originals seed, before building anything."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def unique_name(prefix: str) -> str:
    """A name for a process-global instance (logger, message hub)."""
    return f'{prefix}-{uuid.uuid4().hex[:12]}'


def regression_data(n: int, in_shape: tuple[int, ...], out_dim: int,
                    seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` (input, target) pairs drawn from a private generator, so the
    data never depends on how much of the global RNG a runner consumed."""
    gen = torch.Generator().manual_seed(seed)
    xs = torch.randn((n, *in_shape), generator=gen)
    ys = torch.randn((n, out_dim), generator=gen)
    return [(xs[i], ys[i]) for i in range(n)]


def loader(dataset: list, batch_size: int) -> DataLoader:
    """Sequential loader: the data order is part of what is compared."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


def encode(value: Any) -> Any:
    """Turn ``value`` into JSON data with every float as ``float.hex``.

    Tensors become (nested) lists; numpy scalars and arrays likewise, so the
    records of both worlds compare key by key.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return float.hex(value)
    if isinstance(value, torch.Tensor):
        return encode(value.detach().cpu().tolist())
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise TypeError(f'encode: cannot store a {type(value).__name__}')


def to_float(value: Any) -> float:
    """A logged number as a Python float, without keeping autograd state."""
    if isinstance(value, torch.Tensor):
        return value.detach().item()
    return float(value)


def state_of(model: torch.nn.Module) -> dict:
    """Final parameters and buffers, flattened, in ``state_dict`` order."""
    return {name: encode(t.detach().reshape(-1))
            for name, t in model.state_dict().items()}


def group_hparams(param_groups: Iterable[dict],
                  keys: Iterable[str] = ('lr', 'momentum', 'betas')) -> list:
    """The hyper-parameters of each param group that a schedule may move."""
    return [{k: encode(g[k]) for k in keys if k in g} for g in param_groups]


def drop_volatile(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in VOLATILE_KEYS}


def read_json_lines(path: Path) -> list[dict]:
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def read_mmcv_log_json(work_dir: Path) -> list[dict]:
    """The records of the ``<timestamp>.log.json`` a TextLoggerHook writes.

    The first line may be the runner's ``meta`` (it has no ``mode``); it
    carries versions and times, so only log records are kept.
    """
    files = sorted(Path(work_dir).glob('*.log.json'))
    if len(files) != 1:
        raise AssertionError(
            f'expected one *.log.json in {work_dir}, found '
            f'{[f.name for f in files]}')
    return [encode(drop_volatile(r)) for r in read_json_lines(files[0])
            if 'mode' in r]


def read_scalar_log(work_dir: Path) -> list[dict]:
    """The records of the JSON-lines scalar log (``vis_data/scalars.json``
    under the run's log dir) written by the engine's LoggerHook."""
    files = sorted(Path(work_dir).glob('**/scalars.json'))
    if len(files) != 1:
        found = sorted(str(p.relative_to(work_dir))
                       for p in Path(work_dir).glob('**/*.json'))
        raise AssertionError(
            f'expected one scalars.json under {work_dir}, found {files}; '
            f'json files there: {found}')
    return [encode(drop_volatile(r)) for r in read_json_lines(files[0])]


def checkpoint_names(work_dir: Path) -> list[str]:
    """Checkpoint files left in ``work_dir`` (``max_keep_ckpts`` at work)."""
    return sorted(p.name for p in Path(work_dir).glob('*.pth'))
