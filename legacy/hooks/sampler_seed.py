"""mmcv's DistSamplerSeedHook."""
from .hook import HOOKS, Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Calls ``set_epoch(runner.epoch)`` on the loader's sampler (or its batch
    sampler's sampler) before each epoch, so each epoch shuffles differently
    but identically on every rank. Loaders without such a sampler (for
    example ``batch_size=None``) are left alone; mmcv fails on them."""

    def before_epoch(self, runner) -> None:
        loader = runner.data_loader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        for sampler in (getattr(loader, 'sampler', None),
                        getattr(batch_sampler, 'sampler', None)):
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(runner.epoch)
                return
