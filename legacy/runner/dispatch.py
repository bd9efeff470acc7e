"""The legacy runners' event core: the engine's dispatcher, minus one call
per mmcv-style generic hook method.

mmcv's ``Hook.before_train_iter`` only calls ``self.before_iter`` (likewise
for the other train/val stages and their ``before_epoch``/``after_iter``...
helpers), and many mmcv hooks, such as ``IterTimerHook``, override only the
helper. For a hook that inherits such a forwarding stage method, the
dispatcher calls the helper itself: the same method runs with the same
argument, with one Python call less per hook at every iteration.
"""
from engine.runner.hook_dispatch import HookDispatcher
from ..hooks.hook import STAGE_HELPERS, Hook


class LegacyHookDispatcher(HookDispatcher):
    """:class:`~engine.runner.hook_dispatch.HookDispatcher` for legacy hooks
    (stage methods taking only the runner)."""

    def __init__(self) -> None:
        super().__init__(Hook, Hook.stages, STAGE_HELPERS)

    def _collect(self, stage: str) -> tuple:
        methods = super()._collect(stage)
        helpers = STAGE_HELPERS.get(stage)
        if not helpers:
            return methods
        forwarding = getattr(Hook, stage)
        return tuple(
            getattr(method.__self__, helpers[0])
            if getattr(method, '__func__', None) is forwarding else method
            for method in methods)
