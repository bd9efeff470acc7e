"""mmcv's Hook: stage methods that take only the runner.

The legacy runners call hooks through the engine's event core
(``engine.runner.hook_dispatch``), which only calls the stages a hook
implements. mmcv hooks often override a mode-generic method (``before_epoch``,
``after_iter``...) that the base class calls from the train and val stages;
``STAGE_HELPERS`` tells the dispatcher about those, so such a hook runs where
mmcv runs it and a no-op stage costs nothing per iteration.
"""
from engine.registry import Registry
from engine.runner.hook_dispatch import overrides

HOOKS = Registry('hook')

# stage -> the mode-generic method its base implementation calls; a hook that
# overrides only the generic method takes part in the stage.
STAGE_HELPERS = {
    'before_train_epoch': ('before_epoch', ),
    'before_val_epoch': ('before_epoch', ),
    'after_train_epoch': ('after_epoch', ),
    'after_val_epoch': ('after_epoch', ),
    'before_train_iter': ('before_iter', ),
    'before_val_iter': ('before_iter', ),
    'after_train_iter': ('after_iter', ),
    'after_val_iter': ('after_iter', ),
}


class Hook:
    """Base class of mmcv-style hooks; every stage is a no-op."""

    stages = ('before_run', 'before_train_epoch', 'before_train_iter',
              'after_train_iter', 'after_train_epoch', 'before_val_epoch',
              'before_val_iter', 'after_val_iter', 'after_val_epoch',
              'after_run')

    def before_run(self, runner) -> None:
        pass

    def after_run(self, runner) -> None:
        pass

    def before_epoch(self, runner) -> None:
        pass

    def after_epoch(self, runner) -> None:
        pass

    def before_iter(self, runner) -> None:
        pass

    def after_iter(self, runner) -> None:
        pass

    def before_train_epoch(self, runner) -> None:
        self.before_epoch(runner)

    def before_val_epoch(self, runner) -> None:
        self.before_epoch(runner)

    def after_train_epoch(self, runner) -> None:
        self.after_epoch(runner)

    def after_val_epoch(self, runner) -> None:
        self.after_epoch(runner)

    def before_train_iter(self, runner) -> None:
        self.before_iter(runner)

    def before_val_iter(self, runner) -> None:
        self.before_iter(runner)

    def after_train_iter(self, runner) -> None:
        self.after_iter(runner)

    def after_val_iter(self, runner) -> None:
        self.after_iter(runner)

    def every_n_epochs(self, runner, n: int) -> bool:
        return (runner.epoch + 1) % n == 0 if n > 0 else False

    def every_n_inner_iters(self, runner, n: int) -> bool:
        return (runner.inner_iter + 1) % n == 0 if n > 0 else False

    def every_n_iters(self, runner, n: int) -> bool:
        return (runner.iter + 1) % n == 0 if n > 0 else False

    def end_of_epoch(self, runner) -> bool:
        return runner.inner_iter + 1 == len(runner.data_loader)

    def is_last_epoch(self, runner) -> bool:
        return runner.epoch + 1 == runner._max_epochs

    def is_last_iter(self, runner) -> bool:
        return runner.iter + 1 == runner._max_iters

    def get_triggered_stages(self) -> list:
        """The stages this hook acts on, generic overrides included."""
        return [
            stage for stage in Hook.stages
            if any(overrides(self, name, Hook)
                   for name in (stage, *STAGE_HELPERS.get(stage, ())))
        ]
