"""Same numbers three ways: the project's promise, checked.

Trains MMCV-1.x-style models over a matrix of training recipes along three
paths and compares everything they produce:

* ``legacy``  - the unchanged old script on ``legacy.Runner``;
* ``adapted`` - the unchanged old model on ``engine.runner.Runner`` through
  ``compat.adapt`` and ``compat.migrate_config``;
* ``native``  - a ``engine.model.BaseModel`` port of the model, trained with
  the migrated recipe.

For every setting it prints the largest parameter, loss-curve and lr-curve
differences of each path against the legacy one, whether they are bitwise
equal, and the median time per iteration. ``--reference DIR`` adds the real
mmcv 1.7.2 (checked against ``legacy``) and mmengine 0.10.7 (checked against
``engine``: our native port on the same hand-written MMEngine recipe).

Exit status: 0 when every check passes, 1 when one fails, 2 on bad usage.

    python benchmarks/parity.py                       # the default matrix
    python benchmarks/parity.py --reference /tmp/reference
    python benchmarks/parity.py --settings sgd_step --scales toy --strict
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # imported rather than run: find benchlib, shadow nothing
    sys.path.append(HERE)

import torch  # noqa: E402

from benchlib import ours, paths, report  # noqa: E402
from benchlib.scenarios import SETTINGS, case, run_length  # noqa: E402
from benchlib.trace import REL_TOL, Trace, compare  # noqa: E402

# (path, compared with, counts towards the exit status)
OUR_CHECKS = [('adapted', 'legacy', True), ('native', 'legacy', True)]
REFERENCE_CHECKS = [('mmcv', 'legacy', True),
                    ('engine', 'legacy', False),
                    ('mmengine', 'engine', True)]


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--settings', default=','.join(SETTINGS),
                        help='comma-separated settings (default: all): '
                             + ', '.join(SETTINGS))
    parser.add_argument('--scales', default='toy,cnn',
                        help="comma-separated model scales: 'toy' (the seed's "
                             "model), 'cnn' (a small CNN); default both")
    parser.add_argument('--quick', action='store_true',
                        help='toy scale only, at most 2 epochs (smoke test)')
    parser.add_argument('--reference', metavar='DIR',
                        help='virtual environment with mmcv 1.7.2 and '
                             'mmengine 0.10.7 (see shared/reference/setup.sh)')
    parser.add_argument('--out', default=os.path.join(HERE, 'results'),
                        help='output directory (default: benchmarks/results)')
    parser.add_argument('--strict', action='store_true',
                        help='require bitwise equality, not 1e-6 relative')
    parser.add_argument('--no-plot', action='store_true',
                        help='do not draw parity.png')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='train on the CPU (default; a GPU is hidden, '
                             'as the engine runner would use it) or on the '
                             'GPU (our three paths only)')
    args = parser.parse_args(argv)
    if args.quick:
        args.scales = 'toy'
    try:
        args.cases = [case(s, c) for s in _split(args.settings)
                      for c in _split(args.scales)]
    except ValueError as exc:
        parser.error(str(exc))
    if args.device == 'cuda':
        if args.reference:
            parser.error('--reference runs on the CPU only (mmcv 1.7.2 and '
                         'mmengine 0.10.7 are built for it here)')
        if not torch.cuda.is_available():
            parser.error('--device cuda: torch sees no GPU here')
    else:
        # CUDA is initialised lazily, so hiding it now still works; the
        # engine runner would otherwise move its models to the GPU.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    args.cases = [(setting, dataclasses.replace(workload, device=args.device))
                  for setting, workload in args.cases]
    args.epochs_cap = 2 if args.quick else None
    if args.reference:
        args.reference_python = os.path.join(args.reference, 'bin', 'python')
        if not os.path.exists(args.reference_python):
            parser.error(f'--reference {args.reference}: no bin/python there; '
                         'expected a virtual environment holding mmcv 1.7.2 '
                         'and mmengine 0.10.7')
    return args


def _split(text: str) -> List[str]:
    return [part.strip() for part in text.split(',') if part.strip()]


def key_of(setting, workload) -> str:
    return f'{setting.name}/{workload.scale}'


def run_ours(args, with_engine_cfg: bool) -> Dict[str, Dict[str, Trace]]:
    runs = dict(ours.PARITY_PATHS)
    if with_engine_cfg:
        runs['engine'] = ours.run_engine_cfg
    out: Dict[str, Dict[str, Trace]] = {}
    for setting, workload in args.cases:
        epochs, iters = run_length(workload, args.epochs_cap)
        key = key_of(setting, workload)
        out[key] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, fn in runs.items():
                tag = f'parity_{setting.name}_{workload.scale}_{name}_{os.getpid()}'
                out[key][name] = paths.guarded(
                    name, fn, workload, setting, os.path.join(tmp, name), tag,
                    epochs, iters)
    return out


def run_reference(args) -> Tuple[Dict[str, Dict[str, Trace]], Dict[str, Any]]:
    """Run the same cases in the reference interpreter; never import it here."""
    keys = [key_of(s, w) for s, w in args.cases]
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, 'reference.json')
        cmd = [args.reference_python, os.path.join(HERE, 'reference_runner.py'),
               'parity', '--cases', ','.join(keys), '--out', out_file]
        if args.epochs_cap:
            cmd += ['--epochs-cap', str(args.epochs_cap)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0 or not os.path.exists(out_file):
            error = (f'reference run failed (exit {proc.returncode}): '
                     f'{proc.stderr.strip()[-1500:]}')
            return ({k: {p: Trace(p, error=error) for p in ('mmcv', 'mmengine')}
                     for k in keys}, dict(error=error))
        with open(out_file) as f:
            raw = json.load(f)
    traces = {k: {p: Trace.from_json(raw[p][k]) for p in ('mmcv', 'mmengine')}
              for k in keys}
    meta = dict(versions=raw['versions'],
                mmcv_sleep_skipped_s=raw['mmcv_sleep_skipped_s'])
    return traces, meta


def judge(traces: Dict[str, Trace], checks, strict: bool) -> List[Dict[str, Any]]:
    """One verdict per (path, base) pair; skipped pairs are not failures."""
    rows = []
    for path, base, checked in checks:
        a, b = traces.get(path), traces.get(base)
        if a is None or b is None:
            continue
        row = dict(path=path, base=base, checked=checked)
        skipped = a.skipped or b.skipped
        if skipped:
            row.update(status='n/a', note=skipped)
        elif a.error:
            row.update(status='ERROR', note=a.error)
        elif b.error:
            row.update(status='ERROR', note=f'nothing to compare with: {base} '
                                            'failed')
        else:
            try:
                diff = compare(b, a)
            except ValueError as exc:  # the runs hold different parameters
                row.update(status='ERROR', note=str(exc))
            else:
                row.update(diff.to_json(), status=diff.status(strict))
        row['passed'] = not checked or row['status'] in ('n/a', 'bitwise',
                                                         'close')
        rows.append(row)
    return rows


def print_case(key: str, setting, workload, iters: int,
               traces: Dict[str, Trace], verdicts: List[Dict[str, Any]]) -> None:
    print(f'\n== {key}: {setting.description} '
          f'({workload.name}, {iters} iterations)')
    legacy = traces['legacy']
    rows = [['legacy', '-', None, None, None, '-', '-',
             legacy.sec_per_iter * 1e6]]
    notes = []
    for v in verdicts:
        trace = traces[v['path']]
        check = ('ok' if v['passed'] else 'FAIL') if v['checked'] else 'info'
        rows.append([v['path'], v['base'], v.get('max_param_diff'),
                     v.get('max_loss_diff'), v.get('max_lr_diff'),
                     v['status'], check, trace.sec_per_iter * 1e6])
        if v.get('note'):
            notes.append(f"  {v['path']}: {v['note']}")
    if legacy.error:
        notes.insert(0, f'  legacy: {legacy.error}')
    print(report.table(['path', 'vs', 'max|dparam|', 'max|dloss|',
                        'max|dlr|', 'equal', 'check', 'us/iter'], rows))
    for note in notes:
        print(note)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    device = (torch.cuda.get_device_name(0) if args.device == 'cuda'
              else 'CPU')
    print(f'parity: torch {torch.__version__}, python '
          f'{platform.python_version()}, {device}, 1 thread, tolerance '
          f'{"bitwise" if args.strict else f"bitwise or {REL_TOL:g} relative"}')
    traces = run_ours(args, with_engine_cfg=bool(args.reference))
    checks = list(OUR_CHECKS)
    meta: Dict[str, Any] = {}
    if args.reference:
        ref, meta = run_reference(args)
        for key in traces:
            traces[key].update(ref[key])
        checks += REFERENCE_CHECKS

    results: Dict[str, Any] = {}
    failures = []
    for setting, workload in args.cases:
        key = key_of(setting, workload)
        verdicts = judge(traces[key], checks, args.strict)
        iters = run_length(workload, args.epochs_cap)[1]
        print_case(key, setting, workload, iters, traces[key], verdicts)
        failures += [f"{key}: {v['path']} vs {v['base']} {v['status']}"
                     for v in verdicts if not v['passed']]
        results[key] = dict(
            setting=setting.name, description=setting.description,
            workload=workload.name, iterations=iters, comparisons=verdicts,
            paths={name: dict(sec_per_iter=t.sec_per_iter, error=t.error,
                              skipped=t.skipped, losses=t.losses, lrs=t.lrs)
                   for name, t in traces[key].items()})

    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, 'parity.json')
    report.write_json(json_path, dict(
        passed=not failures, failures=failures, strict=args.strict,
        rel_tol=REL_TOL, torch=torch.__version__, device=device,
        reference=meta,
        cases=results))
    note = None if args.no_plot else report.plot_curves(
        os.path.join(args.out, 'parity.png'), results)
    print(f'\nwrote {json_path}' + ('' if args.no_plot or note else
                                    ' and parity.png'))
    if note:
        print(note)
    if meta.get('mmcv_sleep_skipped_s'):
        print(f"mmcv's epoch sleeps were skipped in these runs "
              f"({meta['mmcv_sleep_skipped_s']:.0f} s; they change no number)")
    seconds = time.perf_counter() - started
    if failures:
        print(f'\nFAILED {len(failures)} check(s) in {seconds:.1f} s:')
        for failure in failures:
            print(f'  {failure}')
        return 1
    print(f'\nall parity checks passed in {seconds:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
