"""mmcv's IterBasedRunner: a workflow of train and val iterations.

Data comes from :class:`IterLoader`, which restarts its loader at the end of
each pass (setting the sampler's epoch), without mmcv's 2 s sleep.

Checkpoints keep mmcv's counters: saved after iteration ``i`` (0-based),
the file is ``iter_{i+1}.pth`` and stores ``iter=i``, the index of the last
completed iteration. mmcv's ``resume`` then sets the counter to ``i`` and
restarts the data, so a resumed run repeats an iteration on other data;
here ``resume`` continues at iteration ``i + 1`` and the train loader at the
batch an uninterrupted run would draw next (without loading the skipped
batches), so a resumed run equals an uninterrupted one.
"""
import os.path as osp
import warnings
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch

from engine.dist import report_rank_failures
from engine.runner.loops import DataCursor
from ..checkpoint import link_latest, save_checkpoint
from ..hooks.iter_timer import IterTimerHook
from .base_runner import BaseRunner
from .builder import RUNNERS


class IterLoader:
    """Endless iteration over a DataLoader, counting the passes.

    ``start_iter`` batches are skipped first (a resumed run): the pass count
    and the sampler's epoch are set to the pass they fall in, and the skipped
    batches of that pass are drawn as indices only, never loaded.
    ``position`` (a checkpoint's ``meta['train_loop']``) does the same from
    the recorded pass, batch and generator states instead, so that a
    shuffling sampler draws the same order as in the interrupted run.
    """

    def __init__(self,
                 dataloader,
                 start_iter: int = 0,
                 position: Optional[Dict] = None) -> None:
        self._dataloader = dataloader
        self.cursor = DataCursor(dataloader)
        if position is not None:
            self._epoch, skip = position['pass_index'], position['served']
            pass_rng = position.get('pass_rng')
        else:
            self._epoch, skip = divmod(start_iter, len(dataloader)) \
                if start_iter else (0, 0)
            pass_rng = None
        if self._epoch:
            self._set_sampler_epoch()
        self.cursor.open(self._epoch, skip, pass_rng, starts_now=False)

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter_loader(self):
        """The iterator of the current pass (mmcv's attribute)."""
        return self.cursor.it

    def __next__(self):
        cursor = self.cursor
        if cursor.await_start:
            cursor.mark_start()
        try:
            data = next(cursor.it)
        except StopIteration:
            self._epoch += 1
            self._set_sampler_epoch()
            try:
                data = next(cursor.open(self._epoch))
            except StopIteration:
                raise ValueError('the data loader yields no batches (an '
                                 'empty dataset, or drop_last with fewer '
                                 'samples than a batch)') from None
        cursor.served += 1
        return data

    def _set_sampler_epoch(self) -> None:
        sampler = getattr(self._dataloader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(self._epoch)

    def __len__(self) -> int:
        return len(self._dataloader)


@RUNNERS.register_module()
class IterBasedRunner(BaseRunner):
    """Train and validate iteration by iteration, following a workflow such
    as ``[('train', 1000), ('val', 100)]``."""

    _in_train_iter = False  # between before_train_iter and the increment
    _checkpoint_by_epoch = False

    def train(self, data_loader: IterLoader, **kwargs) -> None:
        """One training iteration."""
        self.model.train()
        self.mode = 'train'
        self.data_loader = data_loader
        self._epoch = data_loader.epoch
        data_batch = next(data_loader)
        self.data_batch = data_batch
        self._in_train_iter = True
        self.call_hook('before_train_iter')
        outputs = self.model.train_step(data_batch, self.optimizer, **kwargs)
        if type(outputs) is not dict:
            self._check_outputs(outputs, 'train_step()')
        if 'log_vars' in outputs:
            self._update_log_buffer(outputs, 'train_step()')
        self.outputs = outputs
        self.call_hook('after_train_iter')
        del self.data_batch
        self._inner_iter += 1
        self._iter += 1
        self._in_train_iter = False
        if self._stop.received is not None:
            self._stop_after_signal()

    @torch.no_grad()
    def val(self, data_loader: IterLoader, **kwargs) -> None:
        """One validation iteration (no gradients)."""
        self.model.eval()
        self.mode = 'val'
        self.data_loader = data_loader
        data_batch = next(data_loader)
        self.data_batch = data_batch
        self.call_hook('before_val_iter')
        outputs = self.model.val_step(data_batch, **kwargs)
        if type(outputs) is not dict:
            self._check_outputs(outputs, 'val_step()')
        if 'log_vars' in outputs:
            self._update_log_buffer(outputs, 'val_step()')
        self.outputs = outputs
        self.call_hook('after_val_iter')
        del self.data_batch
        self._inner_iter += 1

    @report_rank_failures
    def run(self,
            data_loaders: List,
            workflow: List[Tuple[str, int]],
            max_iters: Optional[int] = None,
            **kwargs) -> None:
        """Run the workflow until ``max_iters`` training iterations are done.

        Args:
            data_loaders: one loader per workflow phase.
            workflow: ``(mode, iters)`` phases repeated in order.
            max_iters: deprecated; give it to the constructor.
        """
        self._check_workflow(data_loaders, workflow)
        if self.batch_processor is not None:
            raise ValueError('IterBasedRunner does not support '
                             'batch_processor; implement train_step()')
        if max_iters is not None:
            warnings.warn(
                'setting max_iters in run is deprecated, '
                'please set max_iters in runner_config', DeprecationWarning)
            self._max_iters = max_iters
        if self._max_iters is None:
            raise ValueError('max_iters must be given to the runner '
                             '(IterBasedRunner(..., max_iters=N))')

        self._log_start(workflow, 'iters', self._max_iters)
        self.call_hook('before_run')
        # a train loader continues where the iterations done left it: at
        # the recorded data position if the checkpoint has one
        position = (self._resume_state or {}).get('position')
        iter_loaders = [
            IterLoader(loader, self.iter, position) if mode == 'train' else
            IterLoader(loader) for loader, (mode, _) in zip(data_loaders,
                                                            workflow)
        ]
        self._cursor = next((it.cursor for it, (mode, _) in zip(
            iter_loaders, workflow) if mode == 'train'), None)
        self._restore_rng()
        with self._stop_on_signals():
            self.call_hook('before_epoch')
            while self.iter < self._max_iters:
                for i, (mode, iters) in enumerate(workflow):
                    self._inner_iter = 0
                    iter_runner = getattr(self, mode)
                    for _ in range(iters):
                        if mode == 'train' and self.iter >= self._max_iters:
                            break
                        iter_runner(iter_loaders[i], **kwargs)
            self.call_hook('after_epoch')
            self.call_hook('after_run')
        self._cursor = None

    def resume(self,
               checkpoint: str,
               resume_optimizer: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        """Continue after the last iteration ``checkpoint`` completed
        (``meta['iter'] + 1``), with its weights, epoch and, by default, the
        optimizer state; ``run`` then starts the train loader at the batch
        that iteration draws. Engine checkpoints are converted to mmcv's
        layout first."""
        if map_location == 'default':
            map_location = self._default_map_location()
        ckpt = self._legacy_checkpoint(
            self.load_checkpoint(checkpoint, map_location=map_location))
        meta = self._checkpoint_meta(ckpt, checkpoint)
        self._take_resume_state(meta)
        self._epoch = meta['epoch']
        self._iter = meta['iter'] + 1
        self._inner_iter = self._iter
        if 'optimizer' in ckpt and resume_optimizer:
            self._resume_optimizer(ckpt)
        self.logger.info(f'resumed from epoch: {self.epoch}, iter {self.iter}')

    def save_checkpoint(  # type: ignore[override]
            self,
            out_dir: str,
            filename_tmpl: str = 'iter_{}.pth',
            meta: Optional[Dict] = None,
            save_optimizer: bool = True,
            create_symlink: bool = True) -> None:
        """Save ``out_dir/filename_tmpl.format(iterations done)`` with the
        model, the optimizer(s) and meta (``epoch``, ``iter`` = the index of
        the last completed iteration), and point ``latest.pth`` at it."""
        meta = self._meta_for_checkpoint(meta)
        done = self.iter + 1 if self._in_train_iter else self.iter
        meta.update(epoch=self.epoch + 1, iter=done - 1)
        filename = filename_tmpl.format(done)
        optimizer = self.optimizer if save_optimizer else None
        save_checkpoint(
            self.model,
            osp.join(out_dir, filename),
            optimizer=optimizer,
            meta=meta)
        if create_symlink:
            link_latest(out_dir, filename)

    def _save_interrupted_checkpoint(self, out_dir: str) -> str:
        path = osp.join(out_dir, f'iter_{self.iter}.pth')
        if not self._already_saved(path):
            self.save_checkpoint(out_dir)
        return path

    def register_training_hooks(self,
                                lr_config,
                                optimizer_config=None,
                                checkpoint_config=None,
                                log_config=None,
                                momentum_config=None,
                                custom_hooks_config=None) -> None:
        """As the base class, but the checkpoint, lr and logger hooks count
        iterations (``by_epoch=False``) unless told otherwise, and the timer
        hook is always registered."""
        if isinstance(checkpoint_config, dict):
            checkpoint_config = dict(checkpoint_config)
            checkpoint_config.setdefault('by_epoch', False)
        if isinstance(lr_config, dict):
            lr_config = dict(lr_config)
            lr_config.setdefault('by_epoch', False)
        if log_config is not None:
            log_config = dict(log_config)
            log_config['hooks'] = [
                dict(info, by_epoch=info.get('by_epoch', False))
                for info in log_config['hooks']
            ]
        super().register_training_hooks(
            lr_config=lr_config,
            momentum_config=momentum_config,
            optimizer_config=optimizer_config,
            checkpoint_config=checkpoint_config,
            log_config=log_config,
            timer_config=IterTimerHook(),
            custom_hooks_config=custom_hooks_config)
