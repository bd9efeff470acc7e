"""Training, validation and test loops (mmengine's, registered in ``LOOPS``).

Besides mmengine's behaviour, the training loops know exactly where they are
in their data: which pass over the dataloader, how many batches of it were
served, and the random-generator states at the start of that pass. A
checkpoint stores this, and a resumed run re-opens the same pass with the
same generator states and starts the sampler at the next batch. Skipped
batches are never loaded: only their indices are drawn from the sampler
(see :func:`iterate_from`), so resuming after a million iterations costs
index arithmetic, not a million batch loads.
"""
import bisect
import collections
import copy
import itertools
import logging
from typing import (Any, Dict, Iterator, List, Mapping, Optional, Tuple,
                    Union)

import torch
from torch.utils.data import DataLoader, IterableDataset

from engine.registry import LOOPS
from .hook_dispatch import direct_stages, hook_error
from .randomness import get_rng_state, set_rng_state
from .signals import NO_STOP


def _log(msg: str, level: int = logging.INFO) -> None:
    from engine.logging import print_log
    print_log(msg, logger='current', level=level)


def _check_count(value: Any, name: str, owner: str) -> int:
    """Counts such as max_epochs must be whole numbers; 3.0 is accepted as
    mmengine does, 2.5 or '3' is an error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            int(value) != value:
        raise TypeError(f'{owner}: {name} must be an integer, but got '
                        f'{type(value).__name__}: {value!r}')
    if value < 0:
        raise ValueError(f'{owner}: {name} must be >= 0, but got {value}')
    return int(value)


def calc_dynamic_intervals(
    start_interval: int,
    dynamic_interval_list: Optional[List[Tuple[int, int]]] = None
) -> Tuple[List[int], List[int]]:
    """Milestones and the interval valid from each (the first from 0)."""
    milestones, intervals = [0], [start_interval]
    for item in dynamic_interval_list or []:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError('dynamic_intervals must be a list of '
                            f'(milestone, interval) pairs, but got {item!r}')
        milestones.append(item[0])
        intervals.append(item[1])
    return milestones, intervals


# ------------------------------------------------------------ data position
class _Skipping:
    """Iterator over ``source`` that first discards ``n`` items. The discard
    happens at the first ``next()`` (as a sampler would start) or earlier
    through :meth:`prime`."""

    def __init__(self, source: Any, n: int) -> None:
        self._source = source
        self._n = n
        self._it: Optional[Iterator] = None

    def prime(self) -> None:
        if self._it is None:
            self._it = iter(self._source)
            collections.deque(itertools.islice(self._it, self._n), maxlen=0)

    def __iter__(self) -> '_Skipping':
        return self

    def __next__(self) -> Any:
        if self._it is None:
            self.prime()
        return next(self._it)


class _SkipFirst:
    """A (batch) sampler whose iteration starts ``n`` items later; the
    skipped items are index lists only, nothing is loaded."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner = inner
        self.n = n
        self.active: Optional[_Skipping] = None

    def __iter__(self) -> _Skipping:
        self.active = _Skipping(self.inner, self.n)
        return self.active

    def __len__(self) -> int:
        return len(self.inner)

    def prime(self) -> None:
        """Start the sampler now (it draws its shuffling seed when started)
        and skip, without loading anything."""
        if self.active is not None:
            self.active.prime()


def iterate_from(loader: Any, skip: int) -> Tuple[Iterator, Any]:
    """An iterator over ``loader`` starting at batch ``skip``, and the
    skipping sampler (None when nothing is skipped).

    For a map-style ``DataLoader`` the skip happens in a shallow copy whose
    (batch) sampler begins ``skip`` index lists later, so workers never load
    the skipped batches. Anything else (an iterable dataset, a plain list of
    batches) can only be replayed.
    """
    if skip <= 0:
        return iter(loader), None
    if isinstance(loader, DataLoader) and \
            not isinstance(loader.dataset, IterableDataset):
        view = copy.copy(loader)
        view.__dict__['_iterator'] = None
        name = 'batch_sampler' if loader.batch_sampler is not None \
            else 'sampler'
        skipper = _SkipFirst(getattr(loader, name), skip)
        view.__dict__[name] = skipper
        return iter(view), skipper
    _log(f'{type(loader).__name__} has no sampler to start at batch {skip}; '
         'replaying the skipped batches', logging.WARNING)
    return _Skipping(loader, skip), None


def _index_source(loader: Any) -> Any:
    """What yields one index list per batch, or None (iterable datasets)."""
    if isinstance(loader, DataLoader) and \
            not isinstance(loader.dataset, IterableDataset):
        return loader.batch_sampler if loader.batch_sampler is not None \
            else loader.sampler
    return None


def set_sampler_epoch(loader: Any, epoch: int) -> None:
    """Tell the loader's sampler which pass begins (DefaultSampler and
    DistributedSampler reshuffle by epoch)."""
    sampler = getattr(loader, 'sampler', None)
    if not hasattr(sampler, 'set_epoch'):
        sampler = getattr(getattr(loader, 'batch_sampler', None), 'sampler',
                          None)
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)


class DataCursor:
    """One pass over a loader and where it stands: the pass number, the
    batches served so far, and the generator states when the pass was
    opened (``iter(loader)`` draws the workers' base seed) and when its
    first batch was asked for (a shuffling sampler draws its seed then).

    The loops read batches from :attr:`it` directly and keep :attr:`served`
    up to date themselves, so the cursor adds no call per batch.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.pass_index = 0
        self.served = 0
        self.rng: Dict[str, Optional[dict]] = dict(open=None, start=None)
        self.it: Iterator = iter(())
        self.await_start = False

    def open(self,
             pass_index: int,
             skip: int = 0,
             rng: Optional[dict] = None,
             starts_now: bool = True) -> Iterator:
        """Start pass ``pass_index`` at batch ``skip`` and return the batch
        iterator. ``starts_now`` says the first batch is asked for right
        away (else call :meth:`mark_start` when it is). On resume ``rng``
        holds the states recorded for that pass: the pass is re-opened and
        its sampler started under them, then the current states are put
        back."""
        if rng is None or rng.get('open') is None:
            self.rng = dict(open=get_rng_state(), start=None)
            self.it, _ = iterate_from(self.loader, skip)
            self.await_start = True
            if starts_now:
                self.mark_start()
        else:
            current = get_rng_state()
            set_rng_state(rng['open'])
            self.it, skipper = iterate_from(self.loader, skip)
            self.rng = dict(open=rng['open'], start=rng.get('start'))
            self.await_start = self.rng['start'] is None
            if skipper is not None and not self.await_start:
                set_rng_state(self.rng['start'])
                skipper.prime()
            set_rng_state(current)
        self.pass_index = pass_index
        self.served = skip
        return self.it

    def mark_start(self) -> None:
        self.await_start = False
        self.rng['start'] = get_rng_state()

    def state(self) -> dict:
        return dict(
            pass_index=self.pass_index,
            served=self.served,
            pass_rng=dict(self.rng))


class _InfiniteDataloaderIterator:
    """Endless batches for iteration-based training: a new pass starts
    whenever the loader is exhausted, with the sampler told the new epoch.

    Unlike mmengine there is no two-second sleep between passes.
    """

    def __init__(self, dataloader: Any) -> None:
        self._dataloader = dataloader
        self.cursor = DataCursor(dataloader)
        # opened now, as mmengine does, but its first batch comes later
        self.cursor.open(0, starts_now=False)
        self._warned = False

    @property
    def _epoch(self) -> int:
        return self.cursor.pass_index

    def __iter__(self) -> '_InfiniteDataloaderIterator':
        return self

    def __next__(self) -> Any:
        cursor = self.cursor
        if cursor.await_start:
            cursor.mark_start()
        try:
            batch = next(cursor.it)
        except StopIteration:
            batch = self._next_pass()
        cursor.served += 1
        return batch

    def _next_pass(self) -> Any:
        if not self._warned:
            self._warned = True
            _log('The dataloader was exhausted and is restarted; an '
                 'InfiniteSampler avoids restarting its workers every pass.',
                 logging.INFO)
        epoch = self.cursor.pass_index + 1
        set_sampler_epoch(self._dataloader, epoch)
        try:
            return next(self.cursor.open(epoch))
        except StopIteration:
            raise ValueError(
                'the training dataloader yields no batches (an empty dataset, '
                'or drop_last with fewer samples than a batch); '
                'iteration-based training needs at least one') from None

    def seek(self, pass_index: int, served: int,
             pass_rng: Optional[dict]) -> None:
        """Continue inside pass ``pass_index`` after ``served`` batches."""
        if pass_index > 0:
            set_sampler_epoch(self._dataloader, pass_index)
        self.cursor.open(pass_index, served, pass_rng)


def _locate(loader: Any, iters_done: int) -> Tuple[int, int]:
    """(pass, batches served in it) after ``iters_done`` batches from the
    start, found by drawing index lists only. Used for checkpoints that do
    not record their data position (older or foreign ones)."""
    source = _index_source(loader)
    if source is None:
        return 0, iters_done
    pass_index, remaining = 0, iters_done
    while remaining > 0:
        if pass_index > 0:
            set_sampler_epoch(loader, pass_index)
        drawn = sum(1 for _ in itertools.islice(iter(source), remaining))
        if drawn == remaining:
            return pass_index, remaining
        if drawn == 0:  # an empty loader: nothing to skip
            break
        remaining -= drawn
        pass_index += 1
    return pass_index, 0


# ------------------------------------------------------------------ loops
def _stop_request(runner: Any) -> Any:
    """The runner's record of a stop signal (see ``signals.py``); the loops
    look at it after every iteration."""
    return getattr(runner, 'stop_request', None) or NO_STOP


class BaseLoop:
    """A loop over one dataloader; a config dict is built into a loader with
    the runner's seed. Subclasses implement :meth:`run`.

    (Not an ``ABCMeta`` class as in mmengine: the runner checks
    ``isinstance(..., BaseLoop)`` several times per iteration, and that
    check is several times slower on an ABC.)"""

    def __init__(self, runner: Any, dataloader: Union[DataLoader,
                                                      Dict]) -> None:
        self._runner = runner
        if dataloader is None:
            raise ValueError(f'{type(self).__name__} needs a dataloader but '
                             'got None; give the Runner the matching '
                             '*_dataloader argument')
        if isinstance(dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get(
                'diff_rank_seed', False)
            self.dataloader = runner.build_dataloader(
                dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        else:
            self.dataloader = dataloader

    @property
    def runner(self) -> Any:
        return self._runner

    def run(self) -> Any:
        """Execute the loop."""
        raise NotImplementedError(
            f'{type(self).__name__} must implement run()')

    def _share_dataset_meta(self, evaluator: Any = None) -> None:
        meta = getattr(
            getattr(self.dataloader, 'dataset', None), 'metainfo', None)
        if meta is None:
            return
        if evaluator is not None:
            evaluator.dataset_meta = meta
        visualizer = getattr(self._runner, 'visualizer', None)
        if visualizer is not None and hasattr(visualizer, 'dataset_meta'):
            visualizer.dataset_meta = meta


class _TrainLoop(BaseLoop):
    """What both training loops share: counters, validation schedule and the
    data position that goes into checkpoints."""

    def __init__(self, runner: Any, dataloader: Any, val_begin: int,
                 val_interval: int,
                 dynamic_intervals: Optional[List[Tuple[int, int]]]) -> None:
        super().__init__(runner, dataloader)
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.stop_training = False  # set by EarlyStoppingHook
        self.dynamic_milestones, self.dynamic_intervals = \
            calc_dynamic_intervals(val_interval, dynamic_intervals)
        self._validating = False
        self._resume_state: Optional[dict] = None
        self._stages: Optional[Mapping[str, tuple]] = None
        self._share_dataset_meta()

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    def _decide_current_val_interval(self, progress: int) -> None:
        step = bisect.bisect(self.dynamic_milestones, progress + 1)
        self.val_interval = self.dynamic_intervals[step - 1]

    def _should_validate(self, progress: int, last: int) -> bool:
        return (self._runner.val_loop is not None
                and progress >= self.val_begin
                and (progress % self.val_interval == 0 or progress == last))

    def _validate(self) -> None:
        self._validating = True
        try:
            self._runner.val_loop.run()
        finally:
            self._validating = False

    def _train_iter(self, idx: int, data_batch: Any) -> None:
        """One training iteration: the hooks around ``train_step``.

        With the engine runner's own ``call_hook`` (``self._stages`` set by
        :func:`direct_stages`), the hook methods are called here directly;
        the result is the same, a little cheaper on every iteration.
        """
        runner = self._runner
        stages = self._stages
        if stages is None:
            runner.call_hook(
                'before_train_iter', batch_idx=idx, data_batch=data_batch)
            outputs = runner.model.train_step(
                data_batch, optim_wrapper=runner.optim_wrapper)
            runner.call_hook(
                'after_train_iter',
                batch_idx=idx,
                data_batch=data_batch,
                outputs=outputs)
            self._iter += 1
            return
        method = None
        try:
            for method in stages['before_train_iter']:
                method(runner, batch_idx=idx, data_batch=data_batch)
        except TypeError as e:
            raise hook_error(e, method) from e
        outputs = runner.model.train_step(
            data_batch, optim_wrapper=runner.optim_wrapper)
        try:
            for method in stages['after_train_iter']:
                method(
                    runner,
                    batch_idx=idx,
                    data_batch=data_batch,
                    outputs=outputs)
        except TypeError as e:
            raise hook_error(e, method) from e
        self._iter += 1

    def state_dict(self) -> dict:
        """Data position for a checkpoint (see the module docstring); also
        whether it was taken during validation, which decides whether a
        resumed run validates first (see :meth:`_finish_resume`)."""
        state = self._data_cursor.state()
        state['stage'] = 'val' if self._validating else 'train'
        return state

    def load_state_dict(self, state: dict) -> None:
        """Remember a checkpoint's data position and generator states; they
        are applied when :meth:`run` reaches the point they were taken at."""
        self._resume_state = dict(state)

    def _finish_resume(self, progress: int, last: int,
                       at_boundary: bool) -> None:
        """Put back the generator states of the checkpoint and, when the
        uninterrupted run validated right after saving it, validate now: the
        validation draws random numbers (at least the loader's base seed), so
        skipping it would make the continued run differ."""
        state, self._resume_state = self._resume_state, None
        if state.get('rng') is None:
            return
        set_rng_state(state['rng'])
        if state.get('stage', 'train') == 'train' and at_boundary and \
                progress < last:
            self._decide_current_val_interval(progress)
            if self._should_validate(progress, last):
                self._validate()


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoop):
    """Train ``max_epochs`` passes over the dataloader, validating every
    ``val_interval`` epochs from epoch ``val_begin``."""

    def __init__(self,
                 runner: Any,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None
                 ) -> None:
        self._max_epochs = _check_count(max_epochs, 'max_epochs',
                                        'EpochBasedTrainLoop')
        super().__init__(runner, dataloader, val_begin, val_interval,
                         dynamic_intervals)
        self._max_iters = self._max_epochs * len(self.dataloader)
        self._data_cursor = DataCursor(self.dataloader)

    def run(self) -> torch.nn.Module:
        self._runner.call_hook('before_train')
        skip, pass_rng = 0, None
        if self._resume_state is not None:
            state = self._resume_state
            # saved inside this epoch (possibly after its last batch, before
            # its epoch-end hooks): continue it rather than start it again
            if state.get('pass_index') == self._epoch and \
                    0 < state.get('served', 0) <= len(self.dataloader):
                skip, pass_rng = state['served'], state.get('pass_rng')
            self._finish_resume(self._epoch, self._max_epochs, skip == 0)
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch(skip, pass_rng)
            skip, pass_rng = 0, None
            self._decide_current_val_interval(self._epoch)
            if self._should_validate(self._epoch, self._max_epochs):
                self._validate()
        self._runner.call_hook('after_train')
        return self._runner.model

    def run_epoch(self, skip: int = 0, pass_rng: Optional[dict] = None) -> None:
        """One pass over the data (from batch ``skip`` after a resume)."""
        runner = self._runner
        runner.call_hook('before_train_epoch')
        runner.model.train()
        self._stages = direct_stages(runner)
        cursor = self._data_cursor
        stop = _stop_request(runner)
        for idx, data_batch in enumerate(
                cursor.open(self._epoch, skip, pass_rng), skip):
            cursor.served = idx + 1
            self.run_iter(idx, data_batch)
            if stop.received is not None:
                runner._stop_after_signal()
        runner.call_hook('after_train_epoch')
        self._epoch += 1

    # run_iter(idx, data_batch) is the shared body itself: one frame less
    # per iteration than a method calling it.
    run_iter = _TrainLoop._train_iter


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoop):
    """Train ``max_iters`` iterations, restarting the dataloader as needed;
    the whole run counts as one epoch, as in mmengine."""

    def __init__(self,
                 runner: Any,
                 dataloader: Union[DataLoader, Dict],
                 max_iters: int,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None
                 ) -> None:
        self._max_iters = _check_count(max_iters, 'max_iters',
                                       'IterBasedTrainLoop')
        super().__init__(runner, dataloader, val_begin, val_interval,
                         dynamic_intervals)
        self._max_epochs = 1
        # Opened here, as mmengine does, so the loader draws its base seed
        # at the same point of the random stream.
        self.dataloader_iterator = _InfiniteDataloaderIterator(
            self.dataloader)
        self._data_cursor = self.dataloader_iterator.cursor

    def _seek(self) -> None:
        state = self._resume_state
        if 'pass_index' in state:
            pass_index, served = state['pass_index'], state['served']
            pass_rng = state.get('pass_rng')
        else:
            pass_index, served = _locate(self.dataloader, self._iter)
            pass_rng = None
        _log(f'Resuming at iteration {self._iter}: pass {pass_index} of the '
             f'dataloader, batch {served} (skipped by index, not loaded)')
        self.dataloader_iterator.seek(pass_index, served, pass_rng)

    def run(self) -> torch.nn.Module:
        runner = self._runner
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        if self._resume_state is not None:
            self._seek()
            self._finish_resume(self._iter, self._max_iters, True)
        dynamic = len(self.dynamic_milestones) > 1
        has_val = runner.val_loop is not None
        model, data = runner.model, self.dataloader_iterator
        self._stages = direct_stages(runner)
        stop = _stop_request(runner)
        while self._iter < self._max_iters and not self.stop_training:
            model.train()
            self.run_iter(next(data))
            if stop.received is not None:
                runner._stop_after_signal()
            if dynamic:
                self._decide_current_val_interval(self._iter)
            if has_val and self._iter >= self.val_begin and (
                    self._iter % self.val_interval == 0
                    or self._iter == self._max_iters):
                self._validate()
        runner.call_hook('after_train_epoch')
        runner.call_hook('after_train')
        return runner.model

    def run_iter(self, data_batch: Any) -> None:
        self._train_iter(self._iter, data_batch)


def _autocast(enabled: bool) -> Any:
    """fp16 evaluation: float16 on CUDA, bfloat16 on the CPU (the only
    reduced type CPU autocast supports well)."""
    if not enabled:
        return torch.autocast('cpu', enabled=False)
    if torch.cuda.is_available():
        return torch.autocast('cuda', dtype=torch.float16)
    return torch.autocast('cpu', dtype=torch.bfloat16)


class _EvalLoop(BaseLoop):
    """Validation and test share everything but the names of their stages."""

    mode = 'val'

    def __init__(self,
                 runner: Any,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Any,
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader)
        from engine.evaluator import Evaluator
        if isinstance(evaluator, (dict, list)):
            evaluator = runner.build_evaluator(evaluator)
        elif not isinstance(evaluator, Evaluator):
            raise TypeError(
                f'{type(self).__name__}: evaluator must be an Evaluator, a '
                'dict or a list of metric configs, but got '
                f'{type(evaluator).__name__}: {evaluator!r}')
        self.evaluator = evaluator
        self.fp16 = fp16
        self._share_dataset_meta(evaluator)

    def run(self) -> dict:
        runner, mode = self._runner, self.mode
        runner.call_hook(f'before_{mode}')
        runner.call_hook(f'before_{mode}_epoch')
        runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        runner.call_hook(f'after_{mode}_epoch', metrics=metrics)
        runner.call_hook(f'after_{mode}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any) -> None:
        runner, mode = self._runner, self.mode
        runner.call_hook(
            f'before_{mode}_iter', batch_idx=idx, data_batch=data_batch)
        with _autocast(self.fp16):
            outputs = getattr(runner.model, f'{mode}_step')(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        runner.call_hook(
            f'after_{mode}_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    """One pass over the validation data through ``model.val_step``,
    predictions fed to the evaluator."""

    mode = 'val'


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """One pass over the test data through ``model.test_step``."""

    mode = 'test'
