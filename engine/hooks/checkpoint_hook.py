"""Save checkpoints periodically, keep the best ones, prune old ones.

File names are mmengine's (``epoch_{}.pth`` / ``iter_{}.pth``,
``best_{metric}_{epoch|iter}_{}.pth``) and so is the bookkeeping in the
message hub (``last_ckpt``, ``keep_ckpt_ids``, ``best_score``, ``best_ckpt``),
so a resumed run continues pruning and best-tracking where it stopped. One
difference: an old file is deleted only after the new one is completely on
disk, so a failed save never leaves fewer checkpoints than before.
"""
import hashlib
import io
import os
import os.path as osp
from collections import deque
from math import inf
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


def _str_list(value: Any, name: str) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f'CheckpointHook {name} must be a str, a list of str or '
                    f'None, but got {type(value).__name__}: {value!r}')


def _remove(path: Optional[str]) -> bool:
    if path and osp.isfile(path):
        os.remove(path)
        return True
    return False


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save a checkpoint every ``interval`` epochs (``by_epoch``) or
    iterations, and the last one; with ``save_best`` also the best one per
    metric (``rule`` 'greater' or 'less', inferred from the metric name
    when omitted). See mmengine's CheckpointHook for every argument."""

    priority = 'VERY_LOW'
    rule_map: Dict[str, Callable[[Any, Any], bool]] = {
        'greater': lambda x, y: x > y,
        'less': lambda x, y: x < y
    }
    init_value_map = {'greater': -inf, 'less': inf}
    _default_greater_keys = [
        'acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU',
        'mAcc', 'aAcc'
    ]
    _default_less_keys = ['loss']

    def __init__(self,
                 interval: int = -1,
                 by_epoch: bool = True,
                 save_optimizer: bool = True,
                 save_param_scheduler: bool = True,
                 out_dir: Optional[Union[str, Path]] = None,
                 max_keep_ckpts: int = -1,
                 save_last: bool = True,
                 save_best: Union[str, List[str], None] = None,
                 rule: Union[str, List[str], None] = None,
                 greater_keys: Optional[Sequence[str]] = None,
                 less_keys: Optional[Sequence[str]] = None,
                 file_client_args: Optional[dict] = None,
                 filename_tmpl: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 published_keys: Union[str, List[str], None] = None,
                 save_begin: int = 0,
                 **kwargs: Any) -> None:
        for name, value in (('interval', interval),
                            ('max_keep_ckpts', max_keep_ckpts),
                            ('save_begin', save_begin)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f'CheckpointHook {name} must be an int, but '
                                f'got {type(value).__name__}: {value!r}')
        if save_begin < 0:
            raise ValueError(
                f'CheckpointHook save_begin must be >= 0, but got {save_begin}')
        if out_dir is not None and not isinstance(out_dir, (str, Path)):
            raise TypeError('CheckpointHook out_dir must be a str or Path, '
                            f'but got {type(out_dir).__name__}: {out_dir!r}')
        from engine.runner.checkpoint import _check_backend
        _check_backend(backend_args, file_client_args)
        if kwargs:
            raise TypeError(f'CheckpointHook got unexpected arguments '
                            f'{sorted(kwargs)}')
        if filename_tmpl is not None and (
                not isinstance(filename_tmpl, str)
                or filename_tmpl.count('{}') != 1):
            raise ValueError('CheckpointHook filename_tmpl must contain '
                             f'exactly one "{{}}", but got {filename_tmpl!r}')
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.out_dir: Optional[str] = None if out_dir is None else str(out_dir)
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        self.filename_tmpl = filename_tmpl or (
            'epoch_{}.pth' if by_epoch else 'iter_{}.pth')
        self.save_begin = save_begin
        self.last_ckpt: Optional[str] = None

        save_best = _str_list(save_best, 'save_best')
        if save_best is not None:
            if 'auto' in save_best and len(save_best) != 1:
                raise ValueError('CheckpointHook save_best may hold "auto" '
                                 f'only on its own, but got {save_best}')
            if len(save_best) != len(set(save_best)):
                raise ValueError('CheckpointHook save_best has duplicates: '
                                 f'{save_best}')
        self.save_best = save_best
        rules = _str_list(rule, 'rule') or [None]
        if save_best is not None and len(rules) not in (1, len(save_best)):
            raise ValueError(
                f'CheckpointHook needs 1 rule or one per save_best metric '
                f'({len(save_best)}), but got {len(rules)}: {rule!r}')
        self.greater_keys = self._default_greater_keys \
            if greater_keys is None else _str_list(greater_keys,
                                                   'greater_keys')
        self.less_keys = self._default_less_keys \
            if less_keys is None else _str_list(less_keys, 'less_keys')
        if save_best is not None:
            self.is_better_than: Dict[str, Callable] = {}
            self._init_rule(rules, save_best)
            if len(self.key_indicators) == 1:
                self.best_ckpt_path: Optional[str] = None
            else:
                self.best_ckpt_path_dict: Dict[str, Optional[str]] = {}
        published = _str_list(published_keys, 'published_keys')
        if published is not None and len(published) != len(set(published)):
            raise ValueError('CheckpointHook published_keys has duplicates: '
                             f'{published}')
        self.published_keys = published

    def _init_rule(self, rules: list, key_indicators: List[str]) -> None:
        """Pick 'greater' or 'less' per metric: exact names first, then
        substrings, greater before less (case-insensitive)."""
        if len(rules) == 1:
            rules = rules * len(key_indicators)
        greater = {k.lower() for k in self.greater_keys}
        less = {k.lower() for k in self.less_keys}
        self.rules = []
        for rule, key in zip(rules, key_indicators):
            if rule is not None and rule not in self.rule_map:
                raise KeyError('CheckpointHook rule must be "greater", '
                               f'"less" or None, but got {rule!r}')
            if rule is None and key != 'auto':
                low = key.lower()
                if low in greater:
                    rule = 'greater'
                elif low in less:
                    rule = 'less'
                elif any(k in low for k in greater):
                    rule = 'greater'
                elif any(k in low for k in less):
                    rule = 'less'
                else:
                    raise ValueError(
                        f'cannot infer whether a greater or a smaller {key!r}'
                        ' is better; give CheckpointHook a rule')
            if rule is not None:
                self.is_better_than[key] = self.rule_map[rule]
            self.rules.append(rule)
        self.key_indicators = key_indicators

    # -------------------------------------------------------------- stages
    def before_train(self, runner) -> None:
        if self.out_dir is None:
            self.out_dir = runner.work_dir
        elif self.out_dir != runner.work_dir:
            self.out_dir = osp.join(
                self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))
        runner.logger.info(f'Checkpoints will be saved to {self.out_dir}.')
        if runner.rank == 0:
            from engine.runner.checkpoint import remove_stale_temp_files
            for path in remove_stale_temp_files(self.out_dir) + (
                    remove_stale_temp_files(runner.work_dir)
                    if runner.work_dir != self.out_dir else []):
                runner.logger.warning(
                    f'Removed {path}, left by a save that was interrupted')
        hub = runner.message_hub
        if self.save_best is not None:
            if len(self.key_indicators) == 1:
                self.best_ckpt_path = hub.get_info('best_ckpt')
            else:
                for key in self.key_indicators:
                    self.best_ckpt_path_dict[key] = hub.get_info(
                        f'best_ckpt_{key}')
        if self.max_keep_ckpts > 0:
            keep = list(hub.get_info('keep_ckpt_ids', []))
            while len(keep) > self.max_keep_ckpts:
                step = keep.pop(0)
                if runner.rank == 0:
                    _remove(self._path(step))
            self.keep_ckpt_ids: deque = deque(keep, self.max_keep_ckpts)

    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_epoch(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.epoch + 1} epochs')
            self._save_checkpoint(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) \
                or (self.save_last and self.is_last_train_iter(runner)):
            runner.logger.info(
                f'Saving checkpoint at {runner.iter + 1} iterations')
            self._save_checkpoint(runner)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics:
            runner.logger.warning(
                'The metrics are empty, so no best checkpoint is saved after '
                'this evaluation.')
            return
        self._save_best_checkpoint(runner, metrics)

    def after_train(self, runner) -> None:
        if self.published_keys is None:
            return
        if self.save_last and self.last_ckpt is not None:
            self._publish_model(runner, self.last_ckpt)
        if getattr(self, 'best_ckpt_path', None) is not None:
            self._publish_model(runner, self.best_ckpt_path)
        for path in getattr(self, 'best_ckpt_path_dict', {}).values():
            if path is not None:
                self._publish_model(runner, path)

    # ------------------------------------------------------------- saving
    def _path(self, step: int) -> str:
        return osp.join(self.out_dir, self.filename_tmpl.format(step))

    def _save_checkpoint(self, runner) -> None:
        if self.by_epoch:
            step = runner.epoch + 1
            meta = dict(epoch=step, iter=runner.iter)
        else:
            step = runner.iter + 1
            meta = dict(epoch=runner.epoch, iter=step)
        self._save_checkpoint_with_step(runner, step, meta)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save ``step``'s checkpoint, point ``last_checkpoint`` at it, and
        only then drop the oldest kept one."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args)
        if runner.rank != 0:
            return
        from engine.runner.checkpoint import write_text_atomic
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None and outdated != step:
            _remove(self._path(outdated))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        if not self.save_best:
            return
        if self.by_epoch:
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            cur_type, cur_time = 'iter', runner.iter
        ckpt_filename = self.filename_tmpl.format(cur_time)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [next(iter(metrics))])
        hub = runner.message_hub
        updated = False
        single = len(self.key_indicators) == 1
        for key, rule in zip(self.key_indicators, self.rules):
            if key not in metrics:
                raise KeyError(f'CheckpointHook save_best={key!r} is not '
                               f'among the metrics {sorted(metrics)}')
            score = metrics[key]
            score_key = 'best_score' if single else f'best_score_{key}'
            ckpt_key = 'best_ckpt' if single else f'best_ckpt_{key}'
            best = hub.get_info(score_key, self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            updated = True
            hub.update_info(score_key, score)
            previous = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict.get(key)
            name = f'best_{key}_{ckpt_filename}'.replace('/', '_')
            path = osp.join(self.out_dir, name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key] = path
            hub.update_info(ckpt_key, path)
            runner.save_checkpoint(
                self.out_dir,
                filename=name,
                file_client_args=self.file_client_args,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False,
                backend_args=self.backend_args)
            if runner.rank == 0 and previous != path and _remove(previous):
                runner.logger.info(
                    f'The previous best checkpoint {previous} is removed')
            runner.logger.info(
                f'The best checkpoint with {score:0.4f} {key} at {cur_time} '
                f'{cur_type} is saved to {name}.')
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)

    def _publish_model(self, runner, ckpt_path: str) -> None:
        """Save a copy with only ``published_keys``, named with the first 8
        hex digits of its SHA-256 (rank 0 only)."""
        if runner.rank != 0:
            return
        import torch
        from engine.runner.checkpoint import (load_checkpoint_file,
                                              save_checkpoint)
        checkpoint = load_checkpoint_file(ckpt_path)
        removed = [k for k in checkpoint if k not in self.published_keys]
        for key in removed:
            del checkpoint[key]
        if removed:
            runner.logger.info(
                f'Key {removed} will be removed because they are not found '
                'in published_keys. If you want to keep them, please set '
                f'`{removed}` in published_keys')
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        sha = hashlib.sha256(buffer.getvalue()).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        save_checkpoint(checkpoint, final_path)
        runner.logger.info(
            f'The checkpoint ({ckpt_path}) is published to {final_path}.')
