"""Record the fixtures of tests/legacy from the real mmcv 1.7.2.

Run from the repository root with the reference environment::

    /tmp/reference/bin/python tests/legacy/record_fixtures.py

It writes ``fixtures/mmcv_*.json`` beside this file from the scenarios in
``legacy_scenarios.py`` (shared with the tests). mmcv sleeps 2 s at each
epoch start; the sleep is skipped here (it changes nothing but the clock).
The tests never import this file.
"""
import json
import os
import sys
import tempfile
import time
import warnings
from types import SimpleNamespace

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
warnings.filterwarnings('ignore')
time.sleep = lambda *args, **kwargs: None

import legacy_scenarios as sc  # noqa: E402


def mmcv_api() -> SimpleNamespace:
    """mmcv's runner API gathered flat, as ``legacy`` exports it."""
    import mmcv.runner
    import mmcv.utils
    names = {k: v for k, v in vars(mmcv.runner).items()
             if not k.startswith('_')}
    names.update(get_logger=mmcv.utils.get_logger)
    return SimpleNamespace(**names)


def seed_source() -> str:
    """The seed sample as the seed document writes it (mmcv imports)."""
    with open(sc.SEED_SAMPLE) as f:
        source = f.read()
    return source.replace(
        'from legacy import Runner', 'from mmcv.runner import Runner').replace(
            'from legacy import get_logger',
            'from mmcv.utils.logging import get_logger')


def dump(name: str, data) -> None:
    path = os.path.join(HERE, 'fixtures', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    print('wrote', path)


def main() -> None:
    torch.set_num_threads(1)
    api = mmcv_api()
    with tempfile.TemporaryDirectory() as work_dir:
        dump('mmcv_seed_sample.json', sc.seed_sample(seed_source(), work_dir))
    logged = {}
    for name in sc.LOGGED_RUNS:
        with tempfile.TemporaryDirectory() as work_dir:
            logged[name] = sc.logged_run(api, name, work_dir)
    dump('mmcv_logged_runs.json', logged)
    dump('mmcv_paramwise.json',
         {name: sc.paramwise_groups(api, name) for name in sc.PARAMWISE_CFGS})


if __name__ == '__main__':
    main()
