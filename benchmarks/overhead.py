"""Framework overhead over a plain PyTorch loop: "no slower", measured.

For the legacy path (``legacy.Runner``), the adapted path (``compat.adapt``
on ``engine.runner.Runner``) and the native engine path, in one process and
one thread, against ``loss.backward(); opt.step(); opt.zero_grad()`` over the
same pre-batched data:

* cost per iteration and its ratio to the plain loop, on the tiny model
  (``nn.Linear(4, 1)``, batch 8) and on a small CNN;
* the time of one epoch transition;
* the time to import the API and build a runner, in a fresh interpreter,
  after ``import torch``;
* peak Python memory during training at two run lengths (a leak would grow
  with the number of iterations).

``--reference DIR`` measures mmcv 1.7.2 and mmengine 0.10.7 the same way in
their own interpreter (ratios against that process's own plain loop); mmcv
sleeps for real and its sleeping is reported beside its loop overhead.
The method is described in benchlib/overhead_jobs.py and docs/benchmarks.md.

Exit status: 1 when a path fails to run (or, with ``--check``, misses a
target), 0 otherwise. Timing targets are not checked by default: a busy
machine must not turn a benchmark into a failing build.

    python benchmarks/overhead.py
    python benchmarks/overhead.py --reference /tmp/reference
    python benchmarks/overhead.py --quick --out /tmp/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # imported rather than run: find benchlib, shadow nothing
    sys.path.append(HERE)

import torch  # noqa: E402

from benchlib import ours, report  # noqa: E402
from benchlib import overhead_jobs as oj  # noqa: E402

OUR_PATHS = ('legacy', 'adapted', 'native')
TARGETS = dict(
    ratio=dict(legacy=1.05, adapted=1.03, native=1.03),
    transition_ms=5.0,
    import_build_s=0.5)
# Growth per iteration beyond the plain loop's under which a run keeps no
# object per iteration (one Python float alone costs 24 bytes).
FLAT_BYTES_PER_ITER = 8.0


def memory_verdict(values: Dict[str, float]) -> str:
    """'flat'; 'history' when all the growth is the logged-value history the
    runner keeps on purpose (bounded: a million values per key in
    mmengine's MessageHub, one epoch in mmcv's LogBuffer); else 'GROWS'.

    The peak of a history stored in growing arrays includes, for a moment,
    the old and the new array: up to half its size again, allowed here.
    """
    excess = values['excess_bytes_per_iter']
    if excess < FLAT_BYTES_PER_ITER:
        return 'flat'
    history = values.get('history_bytes_per_iter', 0.0)
    if history > 0 and excess - history < max(FLAT_BYTES_PER_ITER,
                                              history / 2):
        return 'history'
    return 'GROWS'


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--quick', action='store_true',
                        help='tiny run lengths, one repeat (smoke test)')
    parser.add_argument('--workloads', default='tiny,cnn',
                        help="comma-separated: 'tiny', 'cnn' (default both)")
    parser.add_argument('--repeats', type=int, default=None,
                        help='interleaved repeats (default 5, quick 1)')
    parser.add_argument('--import-repeats', type=int, default=3,
                        help='fresh interpreters per import timing '
                             '(0 skips import timing)')
    parser.add_argument('--clock', choices=sorted(oj.CLOCKS), default='wall',
                        help="'wall' (default) or 'cpu': the thread's CPU "
                             'time, steadier on a machine shared with other '
                             'jobs')
    parser.add_argument('--reference', metavar='DIR',
                        help='virtual environment with mmcv 1.7.2 and '
                             'mmengine 0.10.7')
    parser.add_argument('--out', default=os.path.join(HERE, 'results'),
                        help='output directory (default: benchmarks/results)')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 when a speed target is missed')
    args = parser.parse_args(argv)
    args.workload_list = [w.strip() for w in args.workloads.split(',') if w.strip()]
    bad = [w for w in args.workload_list if w not in oj.WORKLOADS]
    if bad or not args.workload_list:
        parser.error(f'--workloads: unknown {bad}; expected tiny and/or cnn')
    if args.repeats is not None and args.repeats < 1:
        parser.error(f'--repeats must be at least 1, got {args.repeats}')
    if args.reference:
        args.reference_python = os.path.join(args.reference, 'bin', 'python')
        if not os.path.exists(args.reference_python):
            parser.error(f'--reference {args.reference}: no bin/python there; '
                         'expected a virtual environment holding mmcv 1.7.2 '
                         'and mmengine 0.10.7')
    return args


def spec_for(args) -> oj.Spec:
    spec = oj.Spec.quick(args.clock) if args.quick else oj.Spec(clock=args.clock)
    if args.repeats:
        spec.repeats = args.repeats
    return spec


def log(message: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {message}', file=sys.stderr, flush=True)


def measure_ours(args) -> Dict[str, Any]:
    result = oj.measure(ours.overhead_paths, spec_for(args),
                        args.workload_list, log=log)
    result['import_build_s'] = {}
    for path in OUR_PATHS if args.import_repeats else ():
        log(f'import and build: {path}')
        result['import_build_s'][path] = oj.import_and_build(
            sys.executable, HERE, 'benchlib.ours', f'{path}_api', path,
            args.import_repeats)
    return result


def measure_reference(args) -> Dict[str, Any]:
    log('reference: mmcv 1.7.2 and mmengine 0.10.7 (mmcv sleeps 3 s per run)')
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, 'reference.json')
        cmd = [args.reference_python, os.path.join(HERE, 'reference_runner.py'),
               'overhead', '--workloads', ','.join(args.workload_list),
               '--import-repeats', str(args.import_repeats),
               '--clock', args.clock, '--out', out_file]
        if args.quick:
            cmd.append('--quick')
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0 or not os.path.exists(out_file):
            return dict(error=f'reference run failed (exit {proc.returncode}): '
                              f'{proc.stderr.strip()[-1500:]}')
        with open(out_file) as f:
            return json.load(f)


def targets(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every target with its measured value; ``met`` is None when unmeasured."""
    out = []
    tiny = result['per_iteration'].get('tiny', {})
    for path, limit in TARGETS['ratio'].items():
        value = tiny.get(path, {}).get('ratio')
        out.append(dict(name=f'{path}: tiny-model ratio', value=value,
                        limit=limit, met=None if value is None else value <= limit))
    for path in OUR_PATHS:
        value = result['epoch_transition_ms'].get(path)
        out.append(dict(name=f'{path}: epoch transition ms', value=value,
                        limit=TARGETS['transition_ms'],
                        met=None if value is None else value <= TARGETS['transition_ms']))
        value = result.get('import_build_s', {}).get(path, {}).get('total_s')
        out.append(dict(name=f'{path}: import + build s', value=value,
                        limit=TARGETS['import_build_s'],
                        met=None if value is None else value <= TARGETS['import_build_s']))
    return out


def _rows(section: Dict[str, Any], ref: Dict[str, Any], ref_section: str, key):
    """Our paths, then the reference's under a '(ref)' suffix."""
    rows = [(name, values) for name, values in section.items()]
    rows += [(f'{name} (ref)', values) for name, values
             in ref.get(ref_section, {}).items()] if ref else []
    return [key(name, values) for name, values in rows]


def print_tables(result: Dict[str, Any], ref: Dict[str, Any], spec: oj.Spec) -> None:
    for wname, section in result['per_iteration'].items():
        iters, window = spec.run(wname)
        print(f'\n== per iteration, {wname} model: {iters} iterations, median '
              f'over windows of {window}, median of {spec.repeats} '
              f'repeat(s), {spec.clock} clock')
        refs = ref.get('per_iteration', {}).get(wname, {}) if ref else {}
        rows = [[name, v['us_per_iter'], v['overhead_us'], v['ratio'],
                 TARGETS['ratio'].get(name) if wname == 'tiny' else None,
                 v['fixed_ms']] for name, v in section.items()]
        rows += [[f'{name} (ref)', v['us_per_iter'], v['overhead_us'],
                  v['ratio'], None, v['fixed_ms']] for name, v in refs.items()]
        print(report.table(['path', 'us/iter', 'overhead us', 'ratio',
                            'target', 'fixed ms/run'], rows))

    print(f'\n== epoch transition: {spec.transition_epochs} epochs of '
          f'{spec.transition_batches} batches, gap at a boundary less one '
          'iteration')
    rows = _rows(result['epoch_transition_ms'], ref, 'epoch_transition_ms',
                 lambda n, v: [n, v])
    print(report.table(['path', 'ms per transition'], rows))
    if spec.clock == 'cpu' and ref:
        print("  (CPU clock: mmcv's 2 s sleep per transition costs no CPU "
              'and does not show here; see its sleep total below)')

    if result.get('import_build_s') or (ref or {}).get('import_build_s'):
        print('\n== import the API and build a runner (fresh interpreter, '
              'after import torch)')
        rows = _rows(result.get('import_build_s', {}), ref, 'import_build_s',
                     lambda n, v: [n, v['import_s'], v['build_s'], v['total_s']])
        print(report.table(['path', 'import s', 'build s', 'total s'], rows))

    short, long = spec.memory_iters
    print(f'\n== peak Python memory during training (tracemalloc), '
          f'{short} vs {long} iterations')
    rows = _rows(result['memory'], ref, 'memory', lambda n, v: [
        n, v['peak_kib_short'], v['peak_kib_long'], v['bytes_per_iter'],
        v['excess_bytes_per_iter'], v.get('history_bytes_per_iter'),
        memory_verdict(v)])
    print(report.table(['path', f'peak KiB {short}', f'peak KiB {long}',
                        'bytes/iter', 'over plain', 'kept history',
                        'verdict'], rows))
    print('  kept history: bytes per iteration of the logged values the '
          'runner keeps on purpose (MessageHub, LogBuffer); "history" means '
          'nothing else grows')
    if ref and ref.get('mmcv_sleep_s'):
        print(f"\nmmcv slept {ref['mmcv_sleep_s']:.0f} s in the reference "
              'runs (2 s per epoch, 1 s per run; in its fixed and transition '
              'costs, not in its per-iteration cost)')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    spec = spec_for(args)
    torch.set_num_threads(1)
    # Framework overhead on the CPU, as the plain loop runs: a GPU is hidden
    # (CUDA starts lazily, so this still works), or the engine runner would
    # move its models there.
    os.environ['CUDA_VISIBLE_DEVICES'] = ''
    load = os.getloadavg()[0]
    print(f'overhead: torch {torch.__version__}, python '
          f'{platform.python_version()}, 1 thread, {os.cpu_count()} cores, '
          f'load average {load:.1f}')
    if load > (os.cpu_count() or 1) - 0.5 and spec.clock == 'wall':
        print('  the machine is busy: wall-clock figures will be noisy '
              '(--clock cpu is steadier)')
    try:
        result = measure_ours(args)
    except Exception as exc:  # noqa: BLE001 - one line, then a failing status
        print(f'overhead measurement failed: {type(exc).__name__}: {exc}')
        return 1
    ref = measure_reference(args) if args.reference else {}
    if ref.get('error'):
        print(ref['error'])
    print_tables(result, ref if not ref.get('error') else {}, spec)

    checks = targets(result)
    print('\n== targets')
    print(report.table(['target', 'value', 'limit', 'met'], [
        [t['name'], t['value'], t['limit'], t['met']] for t in checks]))
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, 'overhead.json')
    report.write_json(json_path, dict(
        torch=torch.__version__, cores=os.cpu_count(), quick=args.quick,
        load_average=[load, os.getloadavg()[0]],
        spec=vars(spec), ours=result, reference=ref, targets=checks))
    print(f'\nwrote {json_path}')
    missed = [t['name'] for t in checks if t['met'] is False]
    if missed:
        print(f"missed {len(missed)} target(s): {', '.join(missed)}")
    if ref.get('error'):
        return 1
    return 1 if args.check and missed else 0


if __name__ == '__main__':
    sys.exit(main())
