"""Framework overhead measurements, shared by our side and the reference side.

Method (all in one process, one intra-op thread):

* Per-iteration cost is a slope: each path trains a short and a long run
  (one epoch each) and ``(T_long - T_short) / (N_long - N_short)`` is its
  price of one iteration. Set-up, teardown and once-per-run costs (mmcv's
  sleeps among them) cancel out; they are reported apart as the intercept.
* Paths are interleaved inside each repeat (the starting path rotates), and
  every figure is the median over repeats. A path's ratio is the median of
  its per-repeat ratio to the plain loop of the same repeat, so slow drifts
  of the machine hit both sides of a ratio alike.
* An epoch transition is priced by training the same number of iterations
  as E epochs of K batches and as one epoch of E*K batches.
* Memory: tracemalloc peak during training at two run lengths; a leak shows
  as bytes per extra iteration. tracemalloc slows Python down, so these runs
  are separate from the timed ones.

A path is a ``build(batches, epochs, work_dir) -> train`` function: building
(model, optimizer, runner) is not timed, ``train()`` is.
"""
from __future__ import annotations

import copy
import gc
import logging
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

Build = Callable[[list, int, str], Callable[[], None]]

LEGACY_CFG = dict(
    optimizer=dict(type='SGD', lr=0.01),
    optimizer_config=dict(grad_clip=None),
    lr_config=dict(policy='step', step=[2, 3]),
    log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook')]))

NATIVE_CFG = dict(
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
    param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                         milestones=[2, 3], gamma=0.1),
    default_hooks=dict(checkpoint=None))


# --------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    name: str
    make_net: Callable[[], nn.Module]
    loss_fn: Callable
    make_batch: Callable[[torch.Generator], tuple]


def _tiny_batch(gen):
    return torch.randn(8, 4, generator=gen), torch.randn(8, 1, generator=gen)


def _cnn_batch(gen):
    return (torch.randn(8, 3, 16, 16, generator=gen),
            torch.randint(0, 4, (8,), generator=gen))


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))


WORKLOADS = {
    'tiny': Workload('tiny', lambda: nn.Linear(4, 1), F.mse_loss, _tiny_batch),
    'cnn': Workload('cnn', _small_cnn, F.cross_entropy, _cnn_batch),
}


def make_batches(workload: Workload, count: int) -> list:
    gen = torch.Generator().manual_seed(0)
    return [workload.make_batch(gen) for _ in range(count)]


def _only(items: list):
    return items[0]


def prebatched_loader(batches: list) -> DataLoader:
    """A DataLoader that hands out ready batches (no collation).

    ``batch_size=1`` with an unwrapping collate rather than
    ``batch_size=None``: mmengine 0.10.7's sampler-seed hook crashes on a
    loader without a batch sampler, and the reference must run unpatched.
    """
    return DataLoader(batches, batch_size=1, collate_fn=_only)


# ------------------------------------------------------------ lean models
class LeanLegacy(nn.Module):
    """An MMCV-style model doing only the work the plain loop does.

    ``log_vars`` holds a detached tensor, not ``loss.item()``: the host read
    is the model's choice, not the runner's, and would blur the comparison.
    """

    def __init__(self, net: nn.Module, loss_fn) -> None:
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn

    def train_step(self, data, optimizer=None):
        inputs, target = data
        loss = self.loss_fn(self.net(inputs), target)
        return dict(loss=loss, log_vars=dict(loss=loss.detach()),
                    num_samples=inputs.shape[0])


def lean_native_class(base_model: type) -> type:
    class LeanNative(base_model):
        def __init__(self, net: nn.Module, loss_fn) -> None:
            super().__init__()
            self.net = net
            self.loss_fn = loss_fn

        def forward(self, inputs, target=None, mode='tensor'):
            out = self.net(inputs)
            if mode == 'loss':
                return dict(loss=self.loss_fn(out, target))
            return out

    return LeanNative


# ------------------------------------------------------------------ paths
def plain_path(workload: Workload) -> Build:
    """The baseline: ``loss.backward(); opt.step(); opt.zero_grad()``."""

    def build(batches, epochs, work_dir):
        net = workload.make_net()
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        loader = prebatched_loader(batches)
        loss_fn = workload.loss_fn

        def train():
            net.train()
            for _ in range(epochs):
                for inputs, target in loader:
                    loss = loss_fn(net(inputs), target)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
        return train
    return build


def old_style_path(api, workload: Workload, name: str) -> Build:
    """An MMCV-1.x-style runner over a lean model, configured like the seed."""
    counter = iter(range(1_000_000))

    def build(batches, epochs, work_dir):
        cfg = copy.deepcopy(LEGACY_CFG)
        model = LeanLegacy(workload.make_net(), workload.loss_fn)
        runner = api.Runner(
            model=model, optimizer=api.build_optimizer(model, cfg['optimizer']),
            work_dir=work_dir, max_epochs=epochs,
            logger=api.get_logger(f'{name}_{next(counter)}',
                                  log_level=logging.WARNING))
        runner.register_training_hooks(
            lr_config=cfg['lr_config'],
            optimizer_config=cfg['optimizer_config'],
            log_config=cfg['log_config'])
        loader = prebatched_loader(batches)
        return lambda: runner.run([loader], [('train', 1)])
    return build


def new_style_path(api, workload: Workload, name: str,
                   make_model: Callable[[Workload], nn.Module],
                   runner_kwargs: Callable[[int], Dict[str, Any]]) -> Build:
    """An MMEngine-style runner; ``runner_kwargs(epochs)`` holds the recipe."""
    counter = iter(range(1_000_000))

    def build(batches, epochs, work_dir):
        runner = api.Runner(
            model=make_model(workload), work_dir=work_dir,
            train_dataloader=prebatched_loader(batches),
            experiment_name=f'{name}_{next(counter)}', log_level='WARNING',
            **runner_kwargs(epochs))
        return runner.train
    return build


def native_kwargs(epochs: int) -> Dict[str, Any]:
    cfg = copy.deepcopy(NATIVE_CFG)
    cfg['train_cfg'] = dict(by_epoch=True, max_epochs=epochs)
    return cfg


def native_path(api, workload: Workload, name: str) -> Build:
    cls = lean_native_class(api.BaseModel)
    return new_style_path(
        api, workload, name,
        lambda w: cls(w.make_net(), w.loss_fn), native_kwargs)


# ----------------------------------------------------------- measurement
@dataclass
class Spec:
    """Run lengths; ``quick()`` shrinks everything for smoke tests."""

    tiny_iters: tuple = (1000, 4000)
    cnn_iters: tuple = (100, 400)
    repeats: int = 5
    transition_epochs: int = 20
    transition_batches: int = 10
    memory_iters: tuple = (1000, 4000)

    @classmethod
    def quick(cls) -> 'Spec':
        return cls((20, 60), (4, 12), 1, 3, 4, (20, 60))

    def iters(self, workload: str) -> tuple:
        return self.tiny_iters if workload == 'tiny' else self.cnn_iters


def timed(build: Build, batches: list, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as work_dir:
        train = build(batches, epochs, work_dir)
        gc.collect()
        start = time.perf_counter()
        train()
        return time.perf_counter() - start


def _rotations(names: List[str], repeats: int):
    for r in range(repeats):
        shift = r % len(names)
        yield names[shift:] + names[:shift]


def per_iteration(paths: Dict[str, Build], batches: list, lengths: tuple,
                  repeats: int, baseline: str = 'plain') -> Dict[str, Dict]:
    """Slope, intercept and ratio to ``baseline`` of every path."""
    short, long = lengths
    slopes: Dict[str, List[float]] = {n: [] for n in paths}
    fixed: Dict[str, List[float]] = {n: [] for n in paths}
    for order in _rotations(list(paths), repeats):
        for name in order:
            t_short = timed(paths[name], batches[:short], 1)
            t_long = timed(paths[name], batches[:long], 1)
            slope = (t_long - t_short) / (long - short)
            slopes[name].append(slope)
            fixed[name].append(t_short - short * slope)
    out = {}
    for name in paths:
        ratios = [s / b for s, b in zip(slopes[name], slopes[baseline])]
        out[name] = dict(
            us_per_iter=statistics.median(slopes[name]) * 1e6,
            overhead_us=statistics.median(
                (s - b) * 1e6 for s, b in zip(slopes[name], slopes[baseline])),
            ratio=statistics.median(ratios),
            fixed_ms=statistics.median(fixed[name]) * 1e3,
            ratios=ratios)
    return out


def epoch_transition(paths: Dict[str, Build], batches: list, epochs: int,
                     per_epoch: int, repeats: int,
                     epochs_for: Optional[Dict[str, int]] = None
                     ) -> Dict[str, float]:
    """Milliseconds one extra epoch boundary costs each path.

    ``epochs_for`` lowers E for paths whose transitions are slow by design
    (mmcv sleeps 2 s in each).
    """
    samples: Dict[str, List[float]] = {n: [] for n in paths}
    for order in _rotations(list(paths), repeats):
        for name in order:
            e = (epochs_for or {}).get(name, epochs)
            many = timed(paths[name], batches[:per_epoch], e)
            one = timed(paths[name], batches[:per_epoch * e], 1)
            samples[name].append((many - one) / (e - 1) * 1e3)
    return {n: statistics.median(v) for n, v in samples.items()}


def _rss_bytes() -> int:
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096
    except OSError:
        return -1


def traced_peak(build: Build, batches: list) -> Dict[str, int]:
    """Peak Python memory during training above what was held before it."""
    with tempfile.TemporaryDirectory() as work_dir:
        gc.collect()
        tracemalloc.start()
        try:
            train = build(batches, 1, work_dir)
            gc.collect()
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            rss = _rss_bytes()
            train()
            after, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return dict(peak=peak - before, retained=after - before,
                    rss_growth=_rss_bytes() - rss)


def memory(paths: Dict[str, Build], batches: list, lengths: tuple
           ) -> Dict[str, Dict[str, float]]:
    short, long = lengths
    out = {}
    for name, build in paths.items():
        a = traced_peak(build, batches[:short])
        b = traced_peak(build, batches[:long])
        out[name] = dict(
            peak_kib_short=a['peak'] / 1024, peak_kib_long=b['peak'] / 1024,
            retained_kib_long=b['retained'] / 1024,
            rss_growth_kib_long=b['rss_growth'] / 1024,
            bytes_per_iter=(b['peak'] - a['peak']) / (long - short))
    return out


def measure(make_paths: Callable[[Workload], Dict[str, Build]], spec: Spec,
            workloads=('tiny', 'cnn'),
            transition_epochs_for: Optional[Dict[str, int]] = None,
            log: Callable[[str], None] = lambda msg: None) -> Dict[str, Any]:
    """Every measurement except import time, for the paths of one process."""
    torch.set_num_threads(1)
    result: Dict[str, Any] = dict(per_iteration={})
    for wname in workloads:
        workload = WORKLOADS[wname]
        lengths = spec.iters(wname)
        batches = make_batches(workload, lengths[1])
        log(f'per-iteration cost, {wname} model, {lengths} iterations')
        result['per_iteration'][wname] = per_iteration(
            make_paths(workload), batches, lengths, spec.repeats)
    tiny = WORKLOADS['tiny']
    paths = make_paths(tiny)
    n = spec.transition_epochs * spec.transition_batches
    batches = make_batches(tiny, max(n, spec.memory_iters[1]))
    log('epoch transitions')
    result['epoch_transition_ms'] = epoch_transition(
        paths, batches, spec.transition_epochs, spec.transition_batches,
        spec.repeats, transition_epochs_for)
    log(f'memory, {spec.memory_iters} iterations')
    result['memory'] = memory(paths, batches, spec.memory_iters)
    return result


# ----------------------------------------------------- import and build
IMPORT_SNIPPET = '''
import json, sys, time
sys.path.insert(0, {bench_dir!r})
import torch
torch.set_num_threads(1)
# torch imports its compiler stack on the first optimizer (about 1 s here):
# a cost of torch that the plain loop pays too, so it is paid before timing.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
import {module} as m
start = time.perf_counter()
api = m.{api_fn}()
imported = time.perf_counter()
m.build_for_import_timing({path!r}, api)
built = time.perf_counter()
print(json.dumps(dict(import_s=imported - start, build_s=built - imported)))
'''


def import_and_build(python: str, bench_dir: str, module: str, api_fn: str,
                     path: str, repeats: int) -> Dict[str, float]:
    """Seconds to import a runner API and build a runner, in fresh processes.

    Timing starts after ``import torch`` and torch's own lazy start-up:
    every path, the plain loop included, pays for those alike.
    """
    import json
    import subprocess
    samples = []
    code = IMPORT_SNIPPET.format(bench_dir=bench_dir, module=module,
                                 api_fn=api_fn, path=path)
    for _ in range(repeats):
        proc = subprocess.run([python, '-c', code], capture_output=True,
                              text=True, cwd=tempfile.gettempdir(),
                              timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f'import timing of {path} failed:\n'
                               f'{proc.stderr.strip()[-2000:]}')
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    imp = statistics.median(s['import_s'] for s in samples)
    bld = statistics.median(s['build_s'] for s in samples)
    return dict(import_s=imp, build_s=bld, total_s=imp + bld)


def build_with(path: Build) -> None:
    """Build (not train) a runner over a handful of tiny batches."""
    with tempfile.TemporaryDirectory() as work_dir:
        path(make_batches(WORKLOADS['tiny'], 4), 1, work_dir)


# ------------------------------------------------------ reference side
def add_arguments(parser) -> None:
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--workloads', default='tiny,cnn')
    parser.add_argument('--import-repeats', type=int, default=3)


def reference(args, mmcv_api, mmengine_api, install_sleep_ledger,
              versions) -> Dict[str, Any]:
    """The same measurements on mmcv 1.7.2 and mmengine 0.10.7."""
    import os
    import sys
    spec = Spec.quick() if args.quick else Spec()
    ledger = install_sleep_ledger(skip=False)
    old, new = mmcv_api(), mmengine_api()

    def make_paths(workload):
        return dict(plain=plain_path(workload),
                    mmcv=old_style_path(old, workload, 'ref_mmcv'),
                    mmengine=native_path(new, workload, 'ref_mmengine'))

    result = measure(make_paths, spec, args.workloads.split(','),
                     transition_epochs_for=dict(mmcv=3))
    result['mmcv_sleep_s'] = ledger.requested
    bench_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result['import_build_s'] = {
        path: import_and_build(sys.executable, bench_dir, 'reference_runner',
                               f'{path}_api', path, args.import_repeats)
        for path in ('mmcv', 'mmengine')}
    result['versions'] = versions()
    return result
