"""Keeps an exponential moving average of the model during training and uses
it for validation, testing and checkpoints."""
import copy
import itertools
import logging
from typing import Dict, Optional

from engine.logging import print_log
from engine.model import is_model_wrapper
from engine.registry import HOOKS, MODELS
from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class EMAHook(Hook):
    """Maintain an averaged model (``ema_type`` from ``MODELS``).

    - After each train iteration the average is updated (before
      ``begin_iter``/``begin_epoch`` it just follows the model).
    - Validation and testing run with the averaged weights: they are swapped
      into the model for the epoch and swapped back after.
    - A checkpoint's ``state_dict`` holds the averaged weights and
      ``ema_state_dict`` the raw ones (so a plain load gets the better
      model); resuming swaps them back.

    Args:
        ema_type: registered averaged-model class.
        strict_load: strict key matching when loading the average.
        begin_iter, begin_epoch: when averaging starts (at most one set).
        **kwargs: passed to the averaged model (``momentum``, ...).
    """

    priority = 'NORMAL'

    def __init__(self,
                 ema_type: str = 'ExponentialMovingAverage',
                 strict_load: bool = False,
                 begin_iter: int = 0,
                 begin_epoch: int = 0,
                 **kwargs):
        if begin_iter != 0 and begin_epoch != 0:
            raise ValueError('EMAHook: `begin_iter` and `begin_epoch` cannot '
                             f'both be set (got {begin_iter}, {begin_epoch})')
        for name, value in (('begin_iter', begin_iter), ('begin_epoch',
                                                         begin_epoch)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f'EMAHook: `{name}` must be an int >= 0, '
                                 f'but got {value!r}')
        self.strict_load = strict_load
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.enabled_by_epoch = begin_epoch > 0

    def before_run(self, runner) -> None:
        model = runner.model
        self.src_model = model.module if is_model_wrapper(model) else model
        self.ema_model = MODELS.build(
            self.ema_cfg, default_args=dict(model=self.src_model))

    def before_train(self, runner) -> None:
        if self.enabled_by_epoch:
            if self.begin_epoch > runner.max_epochs:
                raise ValueError(
                    f'EMAHook: begin_epoch={self.begin_epoch} is beyond '
                    f'max_epochs={runner.max_epochs}')
        elif self.begin_iter > runner.max_iters:
            raise ValueError(f'EMAHook: begin_iter={self.begin_iter} is '
                             f'beyond max_iters={runner.max_iters}')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self._ema_started(runner):
            self.ema_model.update_parameters(self.src_model)
        else:
            src_state = self.src_model.state_dict()
            for key, value in self.ema_model.module.state_dict().items():
                value.data.copy_(src_state[key].data)

    def before_val_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        self._swap_ema_parameters()

    def before_test_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        self._swap_ema_parameters()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['ema_state_dict'] = self.ema_model.state_dict()
        self._swap_ema_state_dict(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from engine.runner.checkpoint import load_state_dict
        resuming = bool(getattr(runner, '_resume', False))
        if resuming and 'ema_state_dict' in checkpoint:
            self._swap_ema_state_dict(checkpoint)
            self.ema_model.load_state_dict(
                checkpoint['ema_state_dict'], strict=self.strict_load)
            return
        if resuming:
            print_log(
                'The checkpoint has no `ema_state_dict`; EMAHook starts the '
                'average from the loaded `state_dict`.', 'current',
                logging.WARNING)
        load_state_dict(
            self.ema_model.module,
            copy.deepcopy(checkpoint['state_dict']),
            strict=self.strict_load)

    def _swap_ema_parameters(self) -> None:
        ema, src = self.ema_model.module, self.src_model
        if self.ema_model.update_buffers:
            pairs = zip(
                itertools.chain(ema.parameters(), ema.buffers()),
                itertools.chain(src.parameters(), src.buffers()))
        else:
            pairs = zip(ema.parameters(), src.parameters())
        for averaged, source in pairs:
            tmp = averaged.data.clone()
            averaged.data.copy_(source.data)
            source.data.copy_(tmp)

    @staticmethod
    def _swap_ema_state_dict(checkpoint: dict) -> None:
        model_state = checkpoint['state_dict']
        ema_state = checkpoint['ema_state_dict']
        for key in ema_state:
            if key.startswith('module.'):
                name = key[len('module.'):]
                ema_state[key], model_state[name] = (model_state[name],
                                                     ema_state[key])

    def _ema_started(self, runner) -> bool:
        if self.enabled_by_epoch:
            return runner.epoch + 1 >= self.begin_epoch
        return runner.iter + 1 >= self.begin_iter
