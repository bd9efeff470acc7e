"""Framework overhead measurements, shared by our side and the reference side.

Method (all in one process, one intra-op thread):

* Every path trains the same lean model, which stamps the clock at the
  start of its own work in each iteration (the plain loop stamps at the
  same point). The clock is the wall clock, or with ``clock='cpu'`` the
  thread's CPU time: on a machine shared with other jobs the latter leaves
  out the time the scheduler gives to them (and any time spent waiting,
  which these runners barely do), so it is the steadier figure there. A path's cost per iteration is the median, over windows of W
  consecutive iterations, of the window's duration / W. W is a multiple of
  the log interval, so periodic work (logging) is inside every window, while
  a window hit by the scheduler of a busy machine is outvoted. Set-up,
  teardown and epoch-boundary costs lie outside the windows; the first two
  are reported as "fixed ms/run", the last as the epoch transition.
* Paths are interleaved inside each repeat (the starting path rotates) and
  a path's ratio is the median over repeats of its ratio to the plain loop
  of the same repeat, so slow drifts of the machine hit both sides alike.
* An epoch transition is the gap between the last iteration of an epoch and
  the first of the next, less one iteration: median over the boundaries of
  an E-epoch run, then over repeats.
* Memory: tracemalloc peak during training at two run lengths, without the
  stamps; a leak shows as bytes per extra iteration. tracemalloc slows Python
  down, so these runs are separate from the timed ones.

A path is a ``build(batches, epochs, work_dir, stamps) -> train`` function:
building (model, optimizer, runner) is not timed, ``train()`` is.
"""
from __future__ import annotations

import copy
import gc
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

# build(batches, epochs, work_dir, stamps) -> train
Build = Callable[[list, int, str, Optional['Stamps']], Callable[[], None]]

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
CLOCKS = dict(wall=time.perf_counter, cpu=time.thread_time)


class Stamps(list):
    """Per-iteration clock readings; ``tick()`` costs every path the same."""

    def __init__(self, clock: str = 'wall') -> None:
        super().__init__()
        self.clock = CLOCKS[clock]

    def tick(self) -> None:
        self.append(self.clock())


class LeanLegacy(nn.Module):
    """An MMCV-style model doing only the work the plain loop does.

    ``log_vars`` holds a detached tensor, not ``loss.item()``: the host read
    is the model's choice, not the runner's, and would blur the comparison.
    """

    def __init__(self, net: nn.Module, loss_fn,
                 stamps: Optional[Stamps] = None) -> None:
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn
        self.stamps = stamps

    def train_step(self, data, optimizer=None):
        if self.stamps is not None:
            self.stamps.tick()
        inputs, target = data
        loss = self.loss_fn(self.net(inputs), target)
        return dict(loss=loss, log_vars=dict(loss=loss.detach()),
                    num_samples=inputs.shape[0])


def lean_native_class(base_model: type) -> type:
    class LeanNative(base_model):
        def __init__(self, net: nn.Module, loss_fn,
                     stamps: Optional[Stamps] = None) -> None:
            super().__init__()
            self.net = net
            self.loss_fn = loss_fn
            self.stamps = stamps

        def forward(self, inputs, target=None, mode='tensor'):
            if self.stamps is not None and mode == 'loss':
                self.stamps.tick()
            out = self.net(inputs)
            if mode == 'loss':
                return dict(loss=self.loss_fn(out, target))
            return out

    return LeanNative


# ------------------------------------------------------------------ paths
def plain_path(workload: Workload) -> Build:
    """The baseline: ``loss.backward(); opt.step(); opt.zero_grad()``."""

    def build(batches, epochs, work_dir, stamps=None):
        net = workload.make_net()
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        loader = prebatched_loader(batches)
        loss_fn = workload.loss_fn

        def train():
            net.train()
            for _ in range(epochs):
                for inputs, target in loader:
                    if stamps is not None:
                        stamps.tick()
                    loss = loss_fn(net(inputs), target)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
        return train
    return build


def old_style_path(api, workload: Workload, name: str) -> Build:
    """An MMCV-1.x-style runner over a lean model, configured like the seed."""
    counter = iter(range(1_000_000))

    def build(batches, epochs, work_dir, stamps=None):
        cfg = copy.deepcopy(LEGACY_CFG)
        model = LeanLegacy(workload.make_net(), workload.loss_fn, stamps)
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

        def train():
            runner.run([loader], [('train', 1)])
        train.runner = runner  # for kept_history_bytes
        return train
    return build


def new_style_path(api, workload: Workload, name: str,
                   make_model: Callable[[Workload, Optional[list]], nn.Module],
                   runner_kwargs: Callable[[int], Dict[str, Any]]) -> Build:
    """An MMEngine-style runner; ``runner_kwargs(epochs)`` holds the recipe."""
    counter = iter(range(1_000_000))

    def build(batches, epochs, work_dir, stamps=None):
        runner = api.Runner(
            model=make_model(workload, stamps), work_dir=work_dir,
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
        lambda w, stamps: cls(w.make_net(), w.loss_fn, stamps), native_kwargs)


# ----------------------------------------------------------- measurement
@dataclass
class Spec:
    """Run lengths; ``quick()`` shrinks everything for smoke tests."""

    tiny_iters: int = 4000
    tiny_window: int = 100
    cnn_iters: int = 400
    cnn_window: int = 20
    repeats: int = 5
    transition_epochs: int = 20
    transition_batches: int = 10
    memory_iters: tuple = (1000, 4000)
    clock: str = 'wall'

    @classmethod
    def quick(cls, clock: str = 'wall') -> 'Spec':
        return cls(60, 10, 12, 4, 1, 3, 4, (20, 60), clock)

    def run(self, workload: str) -> tuple:
        """(iterations, window) of the timed runs of ``workload``."""
        if workload == 'tiny':
            return self.tiny_iters, self.tiny_window
        return self.cnn_iters, self.cnn_window


def timed(build: Build, batches: list, epochs: int, clock: str = 'wall'):
    """(wall seconds in ``train()``, per-iteration stamps) of one fresh run."""
    stamps = Stamps(clock)
    with tempfile.TemporaryDirectory() as work_dir:
        train = build(batches, epochs, work_dir, stamps)
        gc.collect()
        start = time.perf_counter()
        train()
        return time.perf_counter() - start, stamps


def window_median(stamps: List[float], window: int) -> float:
    """Median seconds per iteration over consecutive windows of iterations."""
    if len(stamps) <= window:
        raise ValueError(f'{len(stamps)} iteration stamps cannot fill a '
                         f'window of {window}; run more iterations')
    spans = [(stamps[i + window] - stamps[i]) / window
             for i in range(0, len(stamps) - window, window)]
    return statistics.median(spans)


def _rotations(names: List[str], repeats: int):
    for r in range(repeats):
        shift = r % len(names)
        yield names[shift:] + names[:shift]


def _ratio(value: float, base: float) -> float:
    return value / base if base > 0 else float('nan')


def per_iteration(paths: Dict[str, Build], batches: list, window: int,
                  repeats: int, baseline: str = 'plain',
                  clock: str = 'wall') -> Dict[str, Dict]:
    """Cost per iteration, overhead and ratio to ``baseline`` of each path.

    The fixed cost (set-up and teardown inside ``train()``) needs wall-clock
    stamps; with the CPU clock it is not reported.
    """
    per_iter: Dict[str, List[float]] = {n: [] for n in paths}
    fixed: Dict[str, List[float]] = {n: [] for n in paths}
    for order in _rotations(list(paths), repeats):
        for name in order:
            seconds, stamps = timed(paths[name], batches, 1, clock)
            if len(stamps) != len(batches):
                raise RuntimeError(f'{name} trained {len(stamps)} of '
                                   f'{len(batches)} iterations')
            cost = window_median(stamps, window)
            per_iter[name].append(cost)
            if clock == 'wall':
                fixed[name].append(seconds - (stamps[-1] - stamps[0])
                                   * len(stamps) / (len(stamps) - 1))
    base = per_iter[baseline]
    return {name: dict(
        us_per_iter=statistics.median(v) * 1e6,
        overhead_us=statistics.median((a - b) * 1e6 for a, b in zip(v, base)),
        ratio=statistics.median(_ratio(a, b) for a, b in zip(v, base)),
        fixed_ms=(statistics.median(fixed[name]) * 1e3 if fixed[name]
                  else None),
        ratios=[_ratio(a, b) for a, b in zip(v, base)])
        for name, v in per_iter.items()}


def epoch_transition(paths: Dict[str, Build], batches: list, epochs: int,
                     per_epoch: int, repeats: int,
                     epochs_for: Optional[Dict[str, int]] = None,
                     clock: str = 'wall') -> Dict[str, float]:
    """Milliseconds one epoch boundary adds over an ordinary iteration.

    ``epochs_for`` lowers E for paths whose transitions are slow by design
    (mmcv sleeps 2 s in each).
    """
    samples: Dict[str, List[float]] = {n: [] for n in paths}
    for order in _rotations(list(paths), repeats):
        for name in order:
            e = (epochs_for or {}).get(name, epochs)
            _, stamps = timed(paths[name], batches[:per_epoch], e, clock)
            steps = [b - a for a, b in zip(stamps, stamps[1:])]
            boundary = set(range(per_epoch - 1, len(steps), per_epoch))
            typical = statistics.median(
                s for i, s in enumerate(steps) if i not in boundary)
            samples[name].append(statistics.median(
                steps[i] - typical for i in boundary) * 1e3)
    return {n: statistics.median(v) for n, v in samples.items()}


def _rss_bytes() -> int:
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096
    except OSError:
        return -1


def _list_bytes(values: list) -> int:
    """A list and the floats in it (small ints are shared, not counted)."""
    return sys.getsizeof(values) + sum(
        sys.getsizeof(v) for v in values if type(v) is float)


def _buffer_bytes(buffer: Any) -> int:
    """Memory of one history of logged values: our HistoryBuffer's columns
    and pending list, or mmengine's two numpy arrays."""
    total = 0
    for name in ('_logs', '_counts'):  # ours
        column = getattr(buffer, name, None)
        if column is not None:
            total += column.array.nbytes
    for name in ('_pending_logs', '_pending_counts'):  # ours
        values = getattr(buffer, name, None)
        if values is not None:
            total += _list_bytes(values)
    for name in ('_log_history', '_count_history'):  # mmengine
        array = getattr(buffer, name, None)
        if array is not None:
            total += array.nbytes
    return total


def kept_history_bytes(train: Callable[[], None]) -> int:
    """Bytes of logged-value history the runner behind ``train`` keeps on
    purpose: MessageHub histories (mmengine keeps up to a million values
    per key) or the LogBuffer of the epoch (mmcv). 0 for the plain loop.

    These grow with the run by design and are reported apart from any other
    growth; they read private attributes of the runners, which is fine for a
    benchmark and nothing else.
    """
    runner = getattr(train, '__self__', None) or getattr(train, 'runner',
                                                         None)
    if runner is None:
        return 0
    total = 0
    hub = getattr(runner, 'message_hub', None)
    if hub is not None:
        total += sum(_buffer_bytes(b) for b in hub.log_scalars.values())
    log_buffer = getattr(runner, 'log_buffer', None)
    if log_buffer is not None:
        for histories in (log_buffer.val_history, log_buffer.n_history):
            total += sum(_list_bytes(v) for v in histories.values())
    return total


def traced_peak(build: Build, batches: list) -> Dict[str, int]:
    """Peak Python memory during training above what was held before it,
    and the logged-value history kept at the end."""
    with tempfile.TemporaryDirectory() as work_dir:
        tracemalloc.start()
        try:
            train = build(batches, 1, work_dir, None)
            gc.collect()  # garbage freed mid-run would hide growth
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            rss = _rss_bytes()
            train()
            after, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return dict(peak=peak - before, retained=after - before,
                    rss_growth=_rss_bytes() - rss,
                    history=kept_history_bytes(train))


def memory(paths: Dict[str, Build], batches: list, lengths: tuple,
           baseline: str = 'plain') -> Dict[str, Dict[str, float]]:
    """Peak memory at two run lengths; growth per iteration beyond the
    baseline's (torch itself keeps a little per-iteration bookkeeping)."""
    short, long = lengths
    out = {}
    for name, build in paths.items():
        a = traced_peak(build, batches[:short])
        b = traced_peak(build, batches[:long])
        out[name] = dict(
            peak_kib_short=a['peak'] / 1024, peak_kib_long=b['peak'] / 1024,
            retained_kib_long=b['retained'] / 1024,
            rss_growth_kib_long=b['rss_growth'] / 1024,
            bytes_per_iter=(b['peak'] - a['peak']) / (long - short),
            history_bytes_per_iter=(b['history'] - a['history'])
            / (long - short))
    for values in out.values():
        values['excess_bytes_per_iter'] = (values['bytes_per_iter']
                                           - out[baseline]['bytes_per_iter'])
        values['unexplained_bytes_per_iter'] = (
            values['excess_bytes_per_iter']
            - values['history_bytes_per_iter'])
    return out


def measure(make_paths: Callable[[Workload], Dict[str, Build]], spec: Spec,
            workloads=('tiny', 'cnn'),
            transition_epochs_for: Optional[Dict[str, int]] = None,
            log: Callable[[str], None] = lambda msg: None) -> Dict[str, Any]:
    """Every measurement except import time, for the paths of one process.

    The objects alive now (torch, the frameworks, the batches) are frozen
    out of the garbage collector for the duration: the full collection
    before each run then costs milliseconds instead of a third of a second,
    and no path pays for scanning them during its run. Every path, the
    plain loop included, runs under the same collector state.
    """
    torch.set_num_threads(1)
    gc.collect()
    gc.freeze()
    try:
        return _measure(make_paths, spec, workloads, transition_epochs_for,
                        log)
    finally:
        gc.unfreeze()


def _measure(make_paths, spec, workloads, transition_epochs_for, log):
    result: Dict[str, Any] = dict(per_iteration={})
    for wname in workloads:
        workload = WORKLOADS[wname]
        iters, window = spec.run(wname)
        log(f'per-iteration cost, {wname} model, {iters} iterations, '
            f'{spec.repeats} repeat(s)')
        result['per_iteration'][wname] = per_iteration(
            make_paths(workload), make_batches(workload, iters), window,
            spec.repeats, clock=spec.clock)
    tiny = WORKLOADS['tiny']
    paths = make_paths(tiny)
    batches = make_batches(tiny, max(spec.transition_batches,
                                     spec.memory_iters[1]))
    log('epoch transitions')
    result['epoch_transition_ms'] = epoch_transition(
        paths, batches, spec.transition_epochs, spec.transition_batches,
        spec.repeats, transition_epochs_for, spec.clock)
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
        path(make_batches(WORKLOADS['tiny'], 4), 1, work_dir, None)
