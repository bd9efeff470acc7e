"""mmcv's CheckpointHook: periodic checkpoints, keeping the latest few."""
import os
import os.path as osp
from typing import Optional

from engine.dist import master_only
from engine.runner.checkpoint import remove_stale_temp_files
from ..dist_utils import allreduce_params
from .hook import HOOKS, Hook


# the keyword arguments of the runners' save_checkpoint besides out_dir and
# save_optimizer, which CheckpointHook passes on
_SAVE_ARGS = {'filename_tmpl', 'meta', 'create_symlink'}


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save a checkpoint every ``interval`` epochs (or iterations).

    Args:
        interval: the saving period; -1 never saves (except the last one
            with ``save_last``).
        by_epoch: count epochs (True) or iterations.
        save_optimizer: include the optimizer state (for resuming).
        out_dir: root directory; the checkpoints go to
            ``out_dir/<last part of work_dir>``. Defaults to the work dir.
        max_keep_ckpts: keep only this many of the latest checkpoints
            (older ones are removed once the new one is written); -1 keeps
            all.
        save_last: always save at the end of training.
        sync_buffer: average the model buffers over ranks before saving.
        file_client_args: only local storage is supported.
        **kwargs: passed to ``runner.save_checkpoint`` (``filename_tmpl``,
            ``create_symlink``).
    """

    def __init__(self,
                 interval: int = -1,
                 by_epoch: bool = True,
                 save_optimizer: bool = True,
                 out_dir: Optional[str] = None,
                 max_keep_ckpts: int = -1,
                 save_last: bool = True,
                 sync_buffer: bool = False,
                 file_client_args: Optional[dict] = None,
                 **kwargs) -> None:
        if file_client_args is not None and file_client_args.get(
                'backend', 'disk') not in ('disk', 'local'):
            raise ValueError(f'file_client_args={file_client_args}: only the '
                             'local file system is supported')
        unknown = sorted(set(kwargs) - _SAVE_ARGS)
        if unknown:
            raise TypeError(
                f'CheckpointHook got unexpected argument(s) {unknown}; the '
                f'extra ones go to runner.save_checkpoint, which takes '
                f'{sorted(_SAVE_ARGS)}')
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.args = kwargs
        self.sync_buffer = sync_buffer
        self.file_client_args = file_client_args

    def before_run(self, runner) -> None:
        if not self.out_dir:
            self.out_dir = runner.work_dir
        if not self.out_dir:
            raise ValueError('CheckpointHook needs out_dir or the runner\'s '
                             'work_dir; both are None')
        if self.out_dir != runner.work_dir:
            basename = osp.basename(runner.work_dir.rstrip(osp.sep))
            self.out_dir = osp.join(self.out_dir, basename)
        runner.logger.info(f'Checkpoints will be saved to {self.out_dir} by '
                           'HardDiskBackend.')
        if runner.rank == 0:
            for path in remove_stale_temp_files(self.out_dir):
                runner.logger.warning(
                    f'Removed {path}, left by a save that was interrupted')
        self.args.setdefault('create_symlink', True)

    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (
                self.save_last and self.is_last_epoch(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.epoch + 1} epochs')
            if self.sync_buffer:
                allreduce_params(runner.model.buffers())
            self._save_checkpoint(runner)

    def after_train_iter(self, runner) -> None:
        if self.by_epoch:
            return
        if self.every_n_iters(runner, self.interval) or (
                self.save_last and self.is_last_iter(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.iter + 1} iterations')
            if self.sync_buffer:
                allreduce_params(runner.model.buffers())
            self._save_checkpoint(runner)

    @master_only
    def _save_checkpoint(self, runner) -> None:
        """Save the current checkpoint, then delete the ones beyond
        ``max_keep_ckpts``."""
        runner.save_checkpoint(
            self.out_dir, save_optimizer=self.save_optimizer, **self.args)
        if self.by_epoch:
            name, current = 'epoch_{}.pth', runner.epoch + 1
        else:
            name, current = 'iter_{}.pth', runner.iter + 1
        filename_tmpl = self.args.get('filename_tmpl', name)
        if runner.meta is not None:
            runner.meta.setdefault('hook_msgs', dict())
            runner.meta['hook_msgs']['last_ckpt'] = osp.join(
                self.out_dir, filename_tmpl.format(current))
        if self.max_keep_ckpts > 0:
            redundant = range(current - self.max_keep_ckpts * self.interval,
                              0, -self.interval)
            for step in redundant:
                path = osp.join(self.out_dir, filename_tmpl.format(step))
                if not osp.isfile(path):
                    break
                os.remove(path)
