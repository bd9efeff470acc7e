"""Steps the parameter schedulers at the right moments of training."""
from typing import Any, Dict, Iterable, List, Optional

from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


def _scheduler_lists(runner) -> Iterable[list]:
    """The runner's schedulers as lists: one list, or one per optimizer
    wrapper of an ``OptimWrapperDict``."""
    schedulers = runner.param_schedulers
    if schedulers is None:
        return ()
    if isinstance(schedulers, list):
        return (schedulers, )
    if isinstance(schedulers, dict):
        for name, value in schedulers.items():
            if not isinstance(value, list):
                raise TypeError(
                    f'runner.param_schedulers[{name!r}] should be a list of '
                    f'parameter schedulers, but got {type(value).__name__}')
        return schedulers.values()
    raise TypeError('runner.param_schedulers should be a list of parameter '
                    'schedulers or a dict of such lists, but got '
                    f'{type(schedulers).__name__}: {schedulers!r}')


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Steps iteration-based schedulers after every train iteration,
    epoch-based ones after every train epoch, and the schedulers that need
    validation metrics (``need_val_args``, e.g. ReduceOnPlateau) after every
    validation epoch."""

    priority = 'LOW'

    def __init__(self) -> None:
        # the iteration-based schedulers, found once per run in before_train
        self._per_iter: Optional[List[Any]] = None

    @staticmethod
    def _iteration_based(runner) -> List[Any]:
        return [
            scheduler for schedulers in _scheduler_lists(runner)
            for scheduler in schedulers if not scheduler.by_epoch
        ]

    def before_train(self, runner) -> None:
        self._per_iter = self._iteration_based(runner)

    def after_train(self, runner) -> None:
        self._per_iter = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        schedulers = self._per_iter
        if schedulers is None:  # called outside a run's train loop
            schedulers = self._iteration_based(runner)
        for scheduler in schedulers:
            scheduler.step()

    def after_train_epoch(self, runner) -> None:
        for schedulers in _scheduler_lists(runner):
            for scheduler in schedulers:
                if scheduler.by_epoch:
                    scheduler.step()

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        if metrics is None:
            return
        for schedulers in _scheduler_lists(runner):
            for scheduler in schedulers:
                if scheduler.by_epoch and getattr(scheduler, 'need_val_args',
                                                  False):
                    scheduler.step(metrics)
