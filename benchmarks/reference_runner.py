"""Runs the benchmark workloads on the real mmcv 1.7.2 and mmengine 0.10.7.

Executed by the reference environment's interpreter (``--reference DIR`` of
parity.py and overhead.py starts ``DIR/bin/python`` on this file), never by
ours: the project never imports mmcv or mmengine. It shares the models,
settings and run functions of ``benchlib`` with our side, so the only
difference between the columns is the framework.

    python reference_runner.py parity  --cases sgd_step/toy,... --out F.json
    python reference_runner.py overhead [--quick] [--workloads tiny,cnn] --out F.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import types
import warnings

import torch

from benchlib import overhead_jobs as oj
from benchlib import paths
from benchlib.scenarios import case, run_length


def mmcv_api() -> types.SimpleNamespace:
    import mmcv.runner
    import mmcv.utils
    return types.SimpleNamespace(
        Runner=mmcv.runner.EpochBasedRunner, Hook=mmcv.runner.Hook,
        get_logger=mmcv.utils.get_logger,
        build_optimizer=mmcv.runner.build_optimizer,
        auto_fp16=mmcv.runner.auto_fp16)


def mmengine_api() -> types.SimpleNamespace:
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.optim import OptimWrapper, OptimWrapperDict
    from mmengine.runner import Runner
    return types.SimpleNamespace(
        Runner=Runner, Hook=Hook, BaseModel=BaseModel,
        OptimWrapper=OptimWrapper, OptimWrapperDict=OptimWrapperDict)


class SleepLedger:
    """Stands in for the ``time`` module inside mmcv's runners.

    ``skip=True`` (parity runs) turns mmcv's epoch-transition sleeps into
    no-ops: they change no number and would add 2 s per epoch. ``skip=False``
    (overhead runs) really sleeps; either way the requested seconds are
    counted, so mmcv's real cost can be reported beside its loop overhead.
    """

    def __init__(self, skip: bool) -> None:
        import time
        self._time = time
        self.skip = skip
        self.requested = 0.0

    def sleep(self, seconds: float) -> None:
        self.requested += seconds
        if not self.skip:
            self._time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(self._time, name)


def install_sleep_ledger(skip: bool) -> SleepLedger:
    import mmcv.runner.epoch_based_runner as ebr
    import mmcv.runner.iter_based_runner as ibr
    ledger = SleepLedger(skip)
    ebr.time = ibr.time = ledger
    return ledger


def build_for_import_timing(path: str, api) -> None:
    """Build one runner on the tiny model (the import-timing subprocess)."""
    tiny = oj.WORKLOADS['tiny']
    make = oj.old_style_path if path == 'mmcv' else oj.native_path
    oj.build_with(make(api, tiny, f'import_{path}'))


def versions() -> dict:
    import mmcv
    import mmengine
    return dict(mmcv=mmcv.__version__, mmengine=mmengine.__version__,
                torch=torch.__version__)


def parity(args) -> dict:
    torch.set_num_threads(1)
    ledger = install_sleep_ledger(skip=True)
    old, new = mmcv_api(), mmengine_api()
    out = dict(versions=versions(), mmcv={}, mmengine={})
    for key in args.cases.split(','):
        setting, workload = case(*key.split('/'))
        epochs, iters = run_length(workload, args.epochs_cap)
        if setting.reference_gap:
            for path in ('mmcv', 'mmengine'):
                out[path][key] = dict(path=path,
                                      skipped=setting.reference_gap)
            continue
        tag = f'ref_{setting.name}_{workload.scale}'
        with tempfile.TemporaryDirectory() as tmp:
            out['mmcv'][key] = paths.guarded(
                'mmcv', paths.run_old_style, old, 'mmcv', workload, setting,
                f'{tmp}/mmcv', f'{tag}_mmcv', epochs).to_json()
            out['mmengine'][key] = paths.guarded(
                'mmengine', paths.run_engine_cfg, new, 'mmengine', workload,
                setting, f'{tmp}/mmengine', f'{tag}_mmengine', epochs,
                iters).to_json()
    out['mmcv_sleep_skipped_s'] = ledger.requested
    return out


def overhead(args) -> dict:
    """overhead.py's measurements on mmcv and mmengine, in this process.

    mmcv sleeps for real here; the ledger only counts the seconds so that
    the report can show them beside mmcv's loop overhead.
    """
    spec = (oj.Spec.quick(args.clock) if args.quick
            else oj.Spec(clock=args.clock))
    ledger = install_sleep_ledger(skip=False)
    old, new = mmcv_api(), mmengine_api()

    def make_paths(workload):
        return dict(plain=oj.plain_path(workload),
                    mmcv=oj.old_style_path(old, workload, 'ref_mmcv'),
                    mmengine=oj.native_path(new, workload, 'ref_mmengine'))

    result = oj.measure(make_paths, spec, args.workloads.split(','),
                        transition_epochs_for=dict(mmcv=3))
    result['mmcv_sleep_s'] = ledger.requested
    here = os.path.dirname(os.path.abspath(__file__))
    result['import_build_s'] = {
        path: oj.import_and_build(sys.executable, here, 'reference_runner',
                                  f'{path}_api', path, args.import_repeats)
        for path in ('mmcv', 'mmengine')} if args.import_repeats else {}
    result['versions'] = versions()
    return result


def main(argv=None) -> int:
    # mmcv's and mmengine's deprecation chatter would bury real errors.
    warnings.filterwarnings('ignore')
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='job', required=True)
    p = sub.add_parser('parity')
    p.add_argument('--cases', required=True)
    p.add_argument('--epochs-cap', type=int, default=None)
    p.add_argument('--out', required=True)
    o = sub.add_parser('overhead')
    o.add_argument('--quick', action='store_true')
    o.add_argument('--workloads', default='tiny,cnn')
    o.add_argument('--import-repeats', type=int, default=3)
    o.add_argument('--clock', choices=sorted(oj.CLOCKS), default='wall')
    o.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    result = parity(args) if args.job == 'parity' else overhead(args)
    with open(args.out, 'w') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
