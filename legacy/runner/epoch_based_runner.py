"""mmcv's EpochBasedRunner: a workflow of train and val epochs.

The loop is mmcv's, step for step (the hooks, the counters and the log buffer
see exactly what they saw there), but it only orchestrates: the optimizer
hooks update the parameters through the engine's OptimWrapper, the schedules
come from the engine's closed forms, and checkpoints from its atomic I/O.
mmcv sleeps 2 s at every epoch start and 1 s at the end of ``run``; this loop
does not.
"""
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional, Tuple

import torch

from engine.dist import report_rank_failures
from engine.runner.loops import DataCursor
from ..checkpoint import link_latest, save_checkpoint
from .base_runner import BaseRunner
from .builder import RUNNERS


@RUNNERS.register_module()
class EpochBasedRunner(BaseRunner):
    """Train and validate epoch by epoch, following a workflow such as
    ``[('train', 2), ('val', 1)]``."""

    def run_iter(self, data_batch: Any, train_mode: bool, **kwargs) -> None:
        """One step of the model; its outputs go to ``self.outputs`` and its
        ``log_vars`` to the log buffer."""
        if self.batch_processor is not None:
            outputs = self.batch_processor(
                self.model, data_batch, train_mode=train_mode, **kwargs)
            method = 'batch_processor()'
        elif train_mode:
            outputs = self.model.train_step(data_batch, self.optimizer,
                                            **kwargs)
            method = 'train_step()'
        else:
            outputs = self.model.val_step(data_batch, self.optimizer, **kwargs)
            method = 'val_step()'
        if type(outputs) is not dict:
            self._check_outputs(outputs, method)
        if 'log_vars' in outputs:
            self._update_log_buffer(outputs, method)
        self.outputs = outputs

    def train(self, data_loader, **kwargs) -> None:
        """One training epoch over ``data_loader``."""
        self.model.train()
        self.mode = 'train'
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(self.data_loader)
        call_hook = self.call_hook
        call_hook('before_train_epoch')
        # the cursor records where in the data a checkpoint is taken; a run
        # resumed from a mid-epoch checkpoint continues at its next batch
        cursor = self._cursor = DataCursor(data_loader)
        position = self._resume_position(self._epoch)
        if position is None:
            batches = cursor.open(self._epoch)
        else:
            batches = cursor.open(self._epoch, position['served'],
                                  position.get('pass_rng'))
            self._restore_rng()
        stop = self._stop
        # The stage -> methods mapping when this runner dispatches with
        # BaseRunner.call_hook (see _direct_stages): the loop then calls the
        # per-iteration hook methods itself, the same ones in the same order.
        stages = self._direct_stages()
        for i, data_batch in enumerate(batches, cursor.served):
            cursor.served = i + 1
            self.data_batch = data_batch
            self._inner_iter = i
            if stages is None:
                call_hook('before_train_iter')
                self.run_iter(data_batch, train_mode=True, **kwargs)
                call_hook('after_train_iter')
            else:
                for method in stages['before_train_iter']:
                    method(self)
                self.run_iter(data_batch, train_mode=True, **kwargs)
                for method in stages['after_train_iter']:
                    method(self)
            del self.data_batch
            self._iter += 1
            if stop.received is not None:
                self._stop_after_signal()
        call_hook('after_train_epoch')
        self._cursor = None
        self._epoch += 1

    @torch.no_grad()
    def val(self, data_loader, **kwargs) -> None:
        """One validation epoch over ``data_loader`` (no gradients)."""
        self.model.eval()
        self.mode = 'val'
        self.data_loader = data_loader
        call_hook = self.call_hook
        call_hook('before_val_epoch')
        for i, data_batch in enumerate(self.data_loader):
            self.data_batch = data_batch
            self._inner_iter = i
            call_hook('before_val_iter')
            self.run_iter(data_batch, train_mode=False)
            call_hook('after_val_iter')
            del self.data_batch
        call_hook('after_val_epoch')

    @report_rank_failures
    def run(self,
            data_loaders: List,
            workflow: List[Tuple[str, int]],
            max_epochs: Optional[int] = None,
            **kwargs) -> None:
        """Run the workflow until ``max_epochs`` training epochs are done.

        Args:
            data_loaders: one loader per workflow phase.
            workflow: ``(mode, epochs)`` phases repeated in order, e.g.
                ``[('train', 2), ('val', 1)]``.
            max_epochs: deprecated; give it to the constructor.
        """
        self._check_workflow(data_loaders, workflow)
        if max_epochs is not None:
            warnings.warn(
                'setting max_epochs in run is deprecated, '
                'please set max_epochs in runner_config', DeprecationWarning)
            self._max_epochs = max_epochs
        if self._max_epochs is None:
            raise ValueError('max_epochs must be given to the runner '
                             '(EpochBasedRunner(..., max_epochs=N))')

        for i, (mode, _) in enumerate(workflow):
            if mode == 'train':
                self._max_iters = self._max_epochs * len(data_loaders[i])
                break

        self._log_start(workflow, 'epochs', self._max_epochs)
        self.call_hook('before_run')
        with self._stop_on_signals():
            if self._resume_position(self._epoch) is None:
                self._restore_rng_at_epoch_end(workflow)
            while self.epoch < self._max_epochs:
                for i, (mode, epochs) in enumerate(workflow):
                    epoch_runner = getattr(self, mode)
                    for _ in range(epochs):
                        if mode == 'train' and \
                                self.epoch >= self._max_epochs:
                            break
                        epoch_runner(data_loaders[i], **kwargs)
            self.call_hook('after_run')

    def save_checkpoint(self,
                        out_dir: str,
                        filename_tmpl: str = 'epoch_{}.pth',
                        save_optimizer: bool = True,
                        meta: Optional[Dict] = None,
                        create_symlink: bool = True) -> None:
        """Save ``out_dir/filename_tmpl.format(epoch + 1)`` with the model,
        the optimizer(s) and meta (``epoch`` = epochs done, ``iter``), and
        point ``latest.pth`` at it."""
        meta = self._meta_for_checkpoint(meta)
        meta.update(epoch=self.epoch + 1, iter=self.iter)
        filename = filename_tmpl.format(self.epoch + 1)
        optimizer = self.optimizer if save_optimizer else None
        save_checkpoint(
            self.model,
            osp.join(out_dir, filename),
            optimizer=optimizer,
            meta=meta)
        if create_symlink:
            link_latest(out_dir, filename)

    def _save_interrupted_checkpoint(self, out_dir: str) -> str:
        """``iter_{iterations done}.pth`` in the middle of an epoch: meta
        holds the epochs completed and the iterations done (not mmcv's
        epoch + 1), so that ``resume`` continues this epoch."""
        filename = f'iter_{self.iter}.pth'
        path = osp.join(out_dir, filename)
        meta = self._meta_for_checkpoint(None)
        meta.update(epoch=self.epoch, iter=self.iter)
        save_checkpoint(self.model, path, optimizer=self.optimizer, meta=meta)
        link_latest(out_dir, filename)
        return path


@RUNNERS.register_module()
class Runner(EpochBasedRunner):
    """Deprecated name of EpochBasedRunner."""

    def __init__(self, *args, **kwargs):
        warnings.warn(
            'Runner was deprecated, please use EpochBasedRunner instead',
            DeprecationWarning)
        super().__init__(*args, **kwargs)
