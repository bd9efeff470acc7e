"""mmcv's EvalHook and DistEvalHook: evaluate with ``dataset.evaluate``
during training, log the results and keep the best checkpoint."""
import os
import os.path as osp
import warnings
from math import inf
from typing import Callable, List, Optional

import torch.distributed as dist
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from .hook import Hook
from .logger import LoggerHook


class EvalHook(Hook):
    """Evaluate the model every ``interval`` epochs (or iterations).

    The results of ``test_fn(model, dataloader)`` go to
    ``dataloader.dataset.evaluate(results, logger=..., **eval_kwargs)``;
    the returned metrics are written to the log buffer (and so logged by the
    logger hooks).

    Args:
        dataloader: the evaluation loader; its dataset has ``evaluate``.
        start: the first epoch/iteration to evaluate at (then every
            ``interval``); None evaluates at multiples of ``interval``.
        interval: evaluation period.
        by_epoch: count epochs (True) or iterations.
        save_best: a metric name (or 'auto' for the first metric) whose best
            value keeps a ``best_<metric>_<epoch|iter>_<n>.pth`` checkpoint.
        rule: 'greater' or 'less'; inferred from the metric name when None.
        test_fn: ``test_fn(model, dataloader) -> results``;
            :func:`legacy.single_gpu_test` by default.
        greater_keys / less_keys: metric name parts that imply the rule.
        out_dir: root directory of the best checkpoint (its last work_dir
            part is appended); the work dir by default.
        file_client_args: only local storage is supported.
        **eval_kwargs: passed to ``dataset.evaluate``.
    """

    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    init_value_map = {'greater': -inf, 'less': inf}
    _default_greater_keys = [
        'acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU',
        'mAcc', 'aAcc'
    ]
    _default_less_keys = ['loss']

    def __init__(self,
                 dataloader: DataLoader,
                 start: Optional[int] = None,
                 interval: int = 1,
                 by_epoch: bool = True,
                 save_best: Optional[str] = None,
                 rule: Optional[str] = None,
                 test_fn: Optional[Callable] = None,
                 greater_keys: Optional[List[str]] = None,
                 less_keys: Optional[List[str]] = None,
                 out_dir: Optional[str] = None,
                 file_client_args: Optional[dict] = None,
                 **eval_kwargs) -> None:
        if not isinstance(dataloader, DataLoader):
            raise TypeError('dataloader must be a pytorch DataLoader, but '
                            f'got {type(dataloader).__name__}')
        if interval <= 0:
            raise ValueError(
                f'interval must be a positive number, but got {interval}')
        if not isinstance(by_epoch, bool):
            raise TypeError(f'by_epoch must be a bool, got {by_epoch!r}')
        if start is not None and start < 0:
            raise ValueError(
                f'The evaluation start epoch {start} is smaller than 0')
        if not (save_best is None or isinstance(save_best, str)):
            raise TypeError('save_best must be a str or None, but got '
                            f'{type(save_best).__name__}')
        if file_client_args is not None and file_client_args.get(
                'backend', 'disk') not in ('disk', 'local'):
            raise ValueError(f'file_client_args={file_client_args}: only the '
                             'local file system is supported')
        self.dataloader = dataloader
        self.interval = interval
        self.start = start
        self.by_epoch = by_epoch
        self.save_best = save_best
        self.eval_kwargs = eval_kwargs
        self.initial_flag = True
        if test_fn is None:
            from ..inference import single_gpu_test
            test_fn = single_gpu_test
        self.test_fn = test_fn
        self.greater_keys = self._key_list(greater_keys,
                                           self._default_greater_keys,
                                           'greater_keys')
        self.less_keys = self._key_list(less_keys, self._default_less_keys,
                                        'less_keys')
        if self.save_best is not None:
            self.best_ckpt_path = None
            self._init_rule(rule, self.save_best)
        self.out_dir = out_dir
        self.file_client_args = file_client_args

    @staticmethod
    def _key_list(keys, default: list, what: str) -> list:
        if keys is None:
            return default
        if isinstance(keys, str):
            keys = (keys, )
        if not isinstance(keys, (list, tuple)) or not all(
                isinstance(k, str) for k in keys):
            raise TypeError(f'{what} must be a str or a list of str, got '
                            f'{keys!r}')
        return list(keys)

    def _init_rule(self, rule: Optional[str], key_indicator: str) -> None:
        """Pick the comparison rule: explicit, or inferred from the metric
        name (exact match first, then substring, greater before less;
        case-insensitive)."""
        if rule not in self.rule_map and rule is not None:
            raise KeyError(
                f'rule must be greater, less or None, but got {rule}.')
        if rule is None and key_indicator != 'auto':
            name = key_indicator.lower()
            greater = [key.lower() for key in self.greater_keys]
            less = [key.lower() for key in self.less_keys]
            if name in greater:
                rule = 'greater'
            elif name in less:
                rule = 'less'
            elif any(key in name for key in greater):
                rule = 'greater'
            elif any(key in name for key in less):
                rule = 'less'
            else:
                raise ValueError(f'Cannot infer the rule for key '
                                 f'{key_indicator}, thus a specific rule '
                                 'must be specified.')
        self.rule = rule
        self.key_indicator = key_indicator
        if self.rule is not None:
            self.compare_func = self.rule_map[self.rule]

    def before_run(self, runner) -> None:
        if not self.out_dir:
            self.out_dir = runner.work_dir
        if self.out_dir != runner.work_dir:
            basename = osp.basename(runner.work_dir.rstrip(osp.sep))
            self.out_dir = osp.join(self.out_dir, basename)
            runner.logger.info(
                f'The best checkpoint will be saved to {self.out_dir} by '
                'HardDiskBackend')
        if self.save_best is not None:
            if runner.meta is None:
                warnings.warn('runner.meta is None. Creating an empty one.')
                runner.meta = dict()
            runner.meta.setdefault('hook_msgs', dict())
            self.best_ckpt_path = runner.meta['hook_msgs'].get(
                'best_ckpt', None)

    def before_train_iter(self, runner) -> None:
        """Evaluate before training starts (iteration mode) when ``start``
        is not after the current iteration."""
        if self.by_epoch or not self.initial_flag:
            return
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)
        self.initial_flag = False

    def before_train_epoch(self, runner) -> None:
        """Evaluate before training starts (epoch mode) when ``start`` is
        not after the current epoch."""
        if not (self.by_epoch and self.initial_flag):
            return
        if self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)
        self.initial_flag = False

    def after_train_iter(self, runner) -> None:
        if not self.by_epoch and self._should_evaluate(runner):
            # Log the training values first, so they do not mix with the
            # evaluation results in the log buffer.
            for hook in runner.hooks:
                if isinstance(hook, LoggerHook):
                    hook.after_train_iter(runner)
            runner.log_buffer.clear()
            self._do_evaluate(runner)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self._should_evaluate(runner):
            self._do_evaluate(runner)

    def _do_evaluate(self, runner) -> None:
        results = self.test_fn(runner.model, self.dataloader)
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best and key_score:
            self._save_ckpt(runner, key_score)

    def _should_evaluate(self, runner) -> bool:
        """Every ``interval`` from ``start`` (or at multiples of
        ``interval`` without ``start``)."""
        if self.by_epoch:
            current, check_time = runner.epoch, self.every_n_epochs
        else:
            current, check_time = runner.iter, self.every_n_iters
        if self.start is None:
            return check_time(runner, self.interval)
        if current + 1 < self.start:
            return False
        return (current + 1 - self.start) % self.interval == 0

    def _save_ckpt(self, runner, key_score) -> None:
        """Save a checkpoint when ``key_score`` beats the best so far."""
        if self.by_epoch:
            current = f'epoch_{runner.epoch + 1}'
            cur_type, cur_time = 'epoch', runner.epoch + 1
        else:
            current = f'iter_{runner.iter + 1}'
            cur_type, cur_time = 'iter', runner.iter + 1

        best_score = runner.meta['hook_msgs'].get(
            'best_score', self.init_value_map[self.rule])
        if not self.compare_func(key_score, best_score):
            return
        best_score = key_score
        runner.meta['hook_msgs']['best_score'] = best_score
        if self.best_ckpt_path and osp.isfile(self.best_ckpt_path):
            os.remove(self.best_ckpt_path)
            runner.logger.info(f'The previous best checkpoint '
                               f'{self.best_ckpt_path} was removed')
        best_ckpt_name = f'best_{self.key_indicator}_{current}.pth'
        self.best_ckpt_path = osp.join(self.out_dir, best_ckpt_name)
        runner.meta['hook_msgs']['best_ckpt'] = self.best_ckpt_path
        runner.save_checkpoint(
            self.out_dir, filename_tmpl=best_ckpt_name, create_symlink=False)
        runner.logger.info(
            f'Now best checkpoint is saved as {best_ckpt_name}.')
        runner.logger.info(f'Best {self.key_indicator} is {best_score:0.4f} '
                           f'at {cur_time} {cur_type}.')

    def evaluate(self, runner, results):
        """Evaluate ``results`` with the dataset, put the metrics in the log
        buffer, and return the ``save_best`` metric (None without one)."""
        eval_res = self.dataloader.dataset.evaluate(
            results, logger=runner.logger, **self.eval_kwargs)
        for name, val in eval_res.items():
            runner.log_buffer.output[name] = val
        runner.log_buffer.ready = True
        if self.save_best is None:
            return None
        if not eval_res:
            warnings.warn(
                'Since `eval_res` is an empty dict, the behavior to save '
                'the best checkpoint will be skipped in this evaluation.')
            return None
        if self.key_indicator == 'auto':
            self._init_rule(self.rule, list(eval_res.keys())[0])
        if self.key_indicator not in eval_res:
            raise KeyError(
                f'save_best={self.key_indicator!r} is not among the metrics '
                f'returned by {type(self.dataloader.dataset).__name__}.'
                f'evaluate: {sorted(eval_res)}')
        return eval_res[self.key_indicator]


class DistEvalHook(EvalHook):
    """Distributed evaluation: every rank tests its share, rank 0 evaluates.

    Extra args: ``broadcast_bn_buffer`` (copy rank 0's BatchNorm statistics
    to all ranks first), ``tmpdir`` and ``gpu_collect`` (how results are
    gathered); ``test_fn`` defaults to :func:`legacy.multi_gpu_test`.
    """

    def __init__(self,
                 dataloader: DataLoader,
                 start: Optional[int] = None,
                 interval: int = 1,
                 by_epoch: bool = True,
                 save_best: Optional[str] = None,
                 rule: Optional[str] = None,
                 test_fn: Optional[Callable] = None,
                 greater_keys: Optional[List[str]] = None,
                 less_keys: Optional[List[str]] = None,
                 broadcast_bn_buffer: bool = True,
                 tmpdir: Optional[str] = None,
                 gpu_collect: bool = False,
                 out_dir: Optional[str] = None,
                 file_client_args: Optional[dict] = None,
                 **eval_kwargs) -> None:
        if test_fn is None:
            from ..inference import multi_gpu_test
            test_fn = multi_gpu_test
        super().__init__(
            dataloader,
            start=start,
            interval=interval,
            by_epoch=by_epoch,
            save_best=save_best,
            rule=rule,
            test_fn=test_fn,
            greater_keys=greater_keys,
            less_keys=less_keys,
            out_dir=out_dir,
            file_client_args=file_client_args,
            **eval_kwargs)
        self.broadcast_bn_buffer = broadcast_bn_buffer
        self.tmpdir = tmpdir
        self.gpu_collect = gpu_collect

    def _do_evaluate(self, runner) -> None:
        if self.broadcast_bn_buffer and dist.is_available() \
                and dist.is_initialized():
            for module in runner.model.modules():
                if isinstance(module,
                              _BatchNorm) and module.track_running_stats:
                    dist.broadcast(module.running_var, 0)
                    dist.broadcast(module.running_mean, 0)
        tmpdir = self.tmpdir
        if tmpdir is None:
            tmpdir = osp.join(runner.work_dir, '.eval_hook')
        results = self.test_fn(
            runner.model,
            self.dataloader,
            tmpdir=tmpdir,
            gpu_collect=self.gpu_collect)
        if runner.rank == 0:
            runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
            key_score = self.evaluate(runner, results)
            if self.save_best and key_score:
                self._save_ckpt(runner, key_score)
