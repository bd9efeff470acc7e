"""The base class of hooks: one no-op method per stage of a run.

The runner's dispatcher only calls the stages a hook class overrides (see
docs/architecture.md, "The event core"), so a stage a hook leaves alone costs
nothing per iteration.
"""
from typing import Any, Dict, Optional, Sequence, Union

DATA_BATCH = Optional[Union[dict, tuple, list]]

# The mode-generic helpers and the public stages they stand for.
_HELPER_STAGES = {
    '_before_epoch':
    ('before_train_epoch', 'before_val_epoch', 'before_test_epoch'),
    '_after_epoch':
    ('after_train_epoch', 'after_val_epoch', 'after_test_epoch'),
    '_before_iter':
    ('before_train_iter', 'before_val_iter', 'before_test_iter'),
    '_after_iter': ('after_train_iter', 'after_val_iter', 'after_test_iter'),
}


class Hook:
    """Base hook: subclasses override the stages they need.

    A subclass may override the mode-generic helpers (``_before_epoch``,
    ``_after_epoch``, ``_before_iter``, ``_after_iter``) instead of the
    public stages; the public stages they feed are then given their own
    function on the subclass, so that a dispatcher which asks "does this class
    override ``after_train_iter``?" by identity gets the right answer.
    """

    priority: Any = 'NORMAL'
    stages = ('before_run', 'after_load_checkpoint', 'before_train',
              'before_train_epoch', 'before_train_iter', 'after_train_iter',
              'after_train_epoch', 'before_val', 'before_val_epoch',
              'before_val_iter', 'after_val_iter', 'after_val_epoch',
              'after_val', 'before_save_checkpoint', 'after_train',
              'before_test', 'before_test_epoch', 'before_test_iter',
              'after_test_iter', 'after_test_epoch', 'after_test', 'after_run')

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for helper, stages in _HELPER_STAGES.items():
            if getattr(cls, helper) is getattr(Hook, helper):
                continue
            for stage in stages:
                if getattr(cls, stage) is getattr(Hook, stage):
                    setattr(cls, stage, _forwarder(stage))

    # --- whole run -------------------------------------------------------
    def before_run(self, runner) -> None:
        """Called once before training, validation or testing starts."""

    def after_run(self, runner) -> None:
        """Called once when the run is over."""

    def before_train(self, runner) -> None:
        """Called before the train loop."""

    def after_train(self, runner) -> None:
        """Called after the train loop."""

    def before_val(self, runner) -> None:
        """Called before a validation loop."""

    def after_val(self, runner) -> None:
        """Called after a validation loop."""

    def before_test(self, runner) -> None:
        """Called before the test loop."""

    def after_test(self, runner) -> None:
        """Called after the test loop."""

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Called with the checkpoint dict before it is written; a hook may
        add to it or change it."""

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Called with a checkpoint dict after the runner loaded it."""

    # --- epochs ----------------------------------------------------------
    def before_train_epoch(self, runner) -> None:
        """Called before each train epoch."""
        self._before_epoch(runner, mode='train')

    def before_val_epoch(self, runner) -> None:
        """Called before each validation epoch."""
        self._before_epoch(runner, mode='val')

    def before_test_epoch(self, runner) -> None:
        """Called before each test epoch."""
        self._before_epoch(runner, mode='test')

    def after_train_epoch(self, runner) -> None:
        """Called after each train epoch."""
        self._after_epoch(runner, mode='train')

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        """Called after each validation epoch with the computed metrics."""
        self._after_epoch(runner, mode='val')

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        """Called after the test epoch with the computed metrics."""
        self._after_epoch(runner, mode='test')

    # --- iterations ------------------------------------------------------
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Called before each train iteration."""
        self._before_iter(runner, batch_idx, data_batch, mode='train')

    def before_val_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: DATA_BATCH = None) -> None:
        """Called before each validation iteration."""
        self._before_iter(runner, batch_idx, data_batch, mode='val')

    def before_test_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None) -> None:
        """Called before each test iteration."""
        self._before_iter(runner, batch_idx, data_batch, mode='test')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Called after each train iteration with the model's log vars."""
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='train')

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: DATA_BATCH = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Called after each validation iteration with the predictions."""
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='val')

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: DATA_BATCH = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Called after each test iteration with the predictions."""
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='test')

    # --- mode-generic helpers -------------------------------------------
    def _before_epoch(self, runner, mode: str = 'train') -> None:
        """Override to act before every train, val and test epoch."""

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        """Override to act after every train, val and test epoch."""

    def _before_iter(self,
                     runner,
                     batch_idx: int,
                     data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        """Override to act before every train, val and test iteration."""

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: DATA_BATCH = None,
                    outputs: Optional[Union[Sequence, dict]] = None,
                    mode: str = 'train') -> None:
        """Override to act after every train, val and test iteration."""

    # --- trigger helpers -------------------------------------------------
    def every_n_epochs(self, runner, n: int, start: int = 0) -> bool:
        """Whether the epoch ending now is a multiple of ``n`` counted from
        ``start`` (epochs are 0-based in the runner, 1-based here)."""
        dividend = runner.epoch + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        """Whether ``batch_idx + 1`` is a multiple of ``n``."""
        return (batch_idx + 1) % n == 0 if n > 0 else False

    def every_n_train_iters(self, runner, n: int, start: int = 0) -> bool:
        """Whether the train iteration ending now is a multiple of ``n``
        counted from ``start``."""
        dividend = runner.iter + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def end_of_epoch(self, dataloader, batch_idx: int) -> bool:
        """Whether ``batch_idx`` is the last batch of ``dataloader``."""
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner) -> bool:
        """Whether the current epoch is the last train epoch."""
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner) -> bool:
        """Whether the current iteration is the last train iteration."""
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list:
        """The public stages this hook acts on (helpers included)."""
        cls = type(self)
        return [
            stage for stage in Hook.stages
            if getattr(cls, stage) is not getattr(Hook, stage)
        ]


def _forwarder(stage: str):
    """A public stage method that feeds a mode-generic helper; one fresh
    function per subclass so that it never *is* the base class's method."""
    when, mode, what = stage.split('_')
    helper = f'_{when}_{what}'
    if what == 'epoch':
        if when == 'after' and mode != 'train':

            def method(self, runner, metrics=None):
                getattr(self, helper)(runner, mode=mode)
        else:

            def method(self, runner):
                getattr(self, helper)(runner, mode=mode)
    elif when == 'before':

        def method(self, runner, batch_idx, data_batch=None):
            getattr(self, helper)(runner, batch_idx, data_batch, mode=mode)
    else:

        def method(self, runner, batch_idx, data_batch=None, outputs=None):
            getattr(self, helper)(
                runner, batch_idx, data_batch, outputs, mode=mode)

    method.__name__ = method.__qualname__ = stage
    method.__doc__ = getattr(Hook, stage).__doc__
    return method
