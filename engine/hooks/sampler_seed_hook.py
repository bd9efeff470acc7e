"""Tells the train sampler which epoch starts, so each epoch shuffles
differently but identically on every rank."""
from engine.registry import HOOKS
from .hook import Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Calls ``set_epoch(runner.epoch)`` on the train dataloader's sampler, or
    on its batch sampler's sampler, or on the batch sampler itself, whichever
    has it first. Loaders with neither (``batch_size=None``, plain iterables)
    are left alone instead of failing."""

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        dataloader = runner.train_loop.dataloader
        batch_sampler = getattr(dataloader, 'batch_sampler', None)
        for candidate in (getattr(dataloader, 'sampler', None),
                          getattr(batch_sampler, 'sampler', None),
                          batch_sampler):
            if hasattr(candidate, 'set_epoch'):
                candidate.set_epoch(runner.epoch)
                return
