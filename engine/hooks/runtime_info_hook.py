"""Mirror the run's state (epoch, iter, learning rates, losses) into the
message hub, where components without a runner reference can read it."""
from typing import Any, Dict, Optional

import numpy as np
import torch

from engine.logging import weighted_value
from engine.optim.base import BaseOptimWrapper
from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


def _is_scalar(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.size == 1
    if isinstance(value, (int, float, np.number)):
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return False


# reports ``lr`` of each group only (and ``base_lr`` with paramwise settings)
_PLAIN_GET_LR = BaseOptimWrapper.get_lr


class _Keys(dict):
    """``name -> 'prefix/name'``, built once per name instead of once per
    iteration."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, name: str) -> str:
        key = self[name] = f'{self.prefix}{name}'
        return key


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Runtime info (``epoch``, ``iter``, ``max_*``, ``loop_stage``, meta)
    and the per-iteration scalars ``train/<lr name>`` and ``train/<loss
    name>``.

    Loss values are stored as the tensors the model returned: the message
    hub turns them into numbers only when a log line needs them, so
    iterations that do not log never wait for the device.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.last_loop_stage: Optional[str] = None
        self._train_keys = _Keys('train/')

    def before_run(self, runner) -> None:
        runner.message_hub.update_info_dict(
            dict(
                cfg=runner.cfg.pretty_text if runner.cfg else '',
                seed=runner.seed,
                experiment_name=runner.experiment_name))
        self.last_loop_stage = None

    def before_train(self, runner) -> None:
        hub = runner.message_hub
        hub.update_info('loop_stage', 'train')
        hub.update_info('epoch', runner.epoch)
        hub.update_info('iter', runner.iter)
        hub.update_info('max_epochs', runner.max_epochs)
        hub.update_info('max_iters', runner.max_iters)
        meta = getattr(getattr(runner.train_dataloader, 'dataset', None),
                       'metainfo', None)
        if meta is not None:
            hub.update_info('dataset_meta', meta)

    def after_train(self, runner) -> None:
        runner.message_hub.pop_info('loop_stage')

    def before_train_epoch(self, runner) -> None:
        runner.message_hub.update_info('epoch', runner.epoch)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        hub = runner.message_hub
        # 'iter' was registered (as resumable) in before_train; writing the
        # dict directly skips that bookkeeping on every iteration.
        hub.runtime_info['iter'] = runner.iter
        wrapper = runner.optim_wrapper
        if (type(wrapper).get_lr is _PLAIN_GET_LR
                and wrapper.base_param_settings is None):
            # what get_lr()['lr'][0] is, without building the dict
            hub.update_scalar('train/lr',
                              wrapper.optimizer.param_groups[0]['lr'])
            return
        lr_dict = wrapper.get_lr()
        if not isinstance(lr_dict, dict):
            raise TypeError(
                'runner.optim_wrapper.get_lr() must return a dict of '
                'learning-rate lists (OptimWrapper or OptimWrapperDict), but '
                f'returned {type(lr_dict).__name__}')
        keys = self._train_keys
        for name, lr in lr_dict.items():
            hub.update_scalar(keys[name], lr[0])

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is None:
            return
        hub, keys = runner.message_hub, self._train_keys
        # Outputs may ask for weighted averages, as mmcv's LogBuffer weighted
        # the legacy log_vars by num_samples: every value then averages
        # ``sample_count`` samples (compat's LegacyLogVars).
        count = None if type(outputs) is dict else getattr(
            outputs, 'sample_count', None)
        if count is not None:
            for name, value in outputs.items():
                hub.update_scalar(keys[name], weighted_value(value, count),
                                  count)
            return
        for name, value in outputs.items():
            hub.update_scalar(keys[name], value)

    def before_val(self, runner) -> None:
        self.last_loop_stage = runner.message_hub.get_info('loop_stage')
        runner.message_hub.update_info('loop_stage', 'val')

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        self._store_metrics(runner, 'val', metrics)

    def after_val(self, runner) -> None:
        if self.last_loop_stage == 'train':
            runner.message_hub.update_info('loop_stage', 'train')
            self.last_loop_stage = None
        else:
            runner.message_hub.pop_info('loop_stage')

    def before_test(self, runner) -> None:
        runner.message_hub.update_info('loop_stage', 'test')

    def after_test(self, runner) -> None:
        runner.message_hub.pop_info('loop_stage')

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        self._store_metrics(runner, 'test', metrics)

    @staticmethod
    def _store_metrics(runner, mode: str, metrics: Optional[dict]) -> None:
        """Scalar metrics become scalar histories, anything else (a
        confusion matrix, say) runtime info."""
        for key, value in (metrics or {}).items():
            if _is_scalar(value):
                runner.message_hub.update_scalar(f'{mode}/{key}', value)
            else:
                runner.message_hub.update_info(f'{mode}/{key}', value)
