"""Momentum schedulers: the generic parameter schedulers bound to the
optimizer's momentum (``momentum`` for SGD-like optimizers, ``betas[0]`` for
Adam-like ones)."""
from engine.registry import PARAM_SCHEDULERS
from .param_scheduler import (ConstantParamScheduler,
                              CosineAnnealingParamScheduler,
                              CosineRestartParamScheduler,
                              ExponentialParamScheduler, LinearParamScheduler,
                              MultiStepParamScheduler, PolyParamScheduler,
                              ReduceOnPlateauParamScheduler,
                              StepParamScheduler)


class MomentumSchedulerMixin:
    """Schedule ``momentum``; for Adam-like optimizers a ``momentum`` key
    mirroring ``betas[0]`` is added to each group, scheduled, and written back
    into ``betas`` after every step."""

    def __init__(self, optimizer, *args, **kwargs):
        defaults = optimizer.defaults
        self.use_betas = 'momentum' not in defaults and 'betas' in defaults
        if 'momentum' not in defaults and not self.use_betas:
            raise ValueError(
                f'{type(self).__name__} needs an optimizer with momentum or '
                f'betas, but {type(optimizer).__name__} has neither')
        if self.use_betas:
            for group in optimizer.param_groups:
                group['momentum'] = group['betas'][0]
        super().__init__(optimizer, 'momentum', *args, **kwargs)

    def _sync_betas(self) -> None:
        if self.use_betas:
            for group in self.optimizer.param_groups:
                group['betas'] = (group['momentum'], group['betas'][1])

    def step(self, *args, **kwargs) -> None:
        super().step(*args, **kwargs)
        self._sync_betas()


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """ConstantParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(MomentumSchedulerMixin,
                              CosineAnnealingParamScheduler):
    """CosineAnnealingParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(MomentumSchedulerMixin, ExponentialParamScheduler):
    """ExponentialParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """LinearParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """MultiStepParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """StepParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """PolyParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(MomentumSchedulerMixin,
                            CosineRestartParamScheduler):
    """CosineRestartParamScheduler on the momentum."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(MomentumSchedulerMixin,
                              ReduceOnPlateauParamScheduler):
    """ReduceOnPlateauParamScheduler on the momentum."""
