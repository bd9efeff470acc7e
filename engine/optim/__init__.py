"""Optimizer wrappers, their builders and the parameter schedulers
(mmengine.optim's API). Importing this package registers every
``torch.optim`` optimizer in ``engine.registry.OPTIMIZERS``."""
from engine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from .amp_optim_wrapper import AmpOptimWrapper
from .base import BaseOptimWrapper
from .constructor import (TORCH_OPTIMIZERS, DefaultOptimWrapperConstructor,
                          build_optim_wrapper, register_torch_optimizers)
from .optim_wrapper import OptimWrapper
from .optim_wrapper_dict import OptimWrapperDict
from .scheduler import (INF, ClosedFormLR, ClosedFormMomentum, ConstantLR,
                        ConstantMomentum, ConstantParamScheduler,
                        CosineAnnealingLR, CosineAnnealingMomentum,
                        CosineAnnealingParamScheduler, CosineRestartLR,
                        CosineRestartMomentum, CosineRestartParamScheduler,
                        ExponentialLR, ExponentialMomentum,
                        ExponentialParamScheduler, LinearLR, LinearMomentum,
                        LinearParamScheduler, MultiStepLR, MultiStepMomentum,
                        MultiStepParamScheduler, OneCycleLR,
                        OneCycleParamScheduler, PolyLR, PolyMomentum,
                        PolyParamScheduler, ReduceOnPlateauLR,
                        ReduceOnPlateauMomentum,
                        ReduceOnPlateauParamScheduler, StepLR, StepMomentum,
                        StepParamScheduler, _ParamScheduler)

__all__ = [
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'build_optim_wrapper',
    'DefaultOptimWrapperConstructor', 'OptimWrapper', 'AmpOptimWrapper',
    'OptimWrapperDict', 'BaseOptimWrapper', 'TORCH_OPTIMIZERS',
    'register_torch_optimizers', 'ConstantLR', 'CosineAnnealingLR',
    'ExponentialLR', 'LinearLR', 'MultiStepLR', 'StepLR', 'ConstantMomentum',
    'CosineAnnealingMomentum', 'ExponentialMomentum', 'LinearMomentum',
    'MultiStepMomentum', 'StepMomentum', 'ConstantParamScheduler',
    'CosineAnnealingParamScheduler', 'ExponentialParamScheduler',
    'LinearParamScheduler', 'MultiStepParamScheduler', 'StepParamScheduler',
    '_ParamScheduler', 'PolyParamScheduler', 'PolyLR', 'PolyMomentum',
    'OneCycleParamScheduler', 'OneCycleLR', 'CosineRestartParamScheduler',
    'CosineRestartLR', 'CosineRestartMomentum',
    'ReduceOnPlateauParamScheduler', 'ReduceOnPlateauLR',
    'ReduceOnPlateauMomentum', 'ClosedFormLR', 'ClosedFormMomentum', 'INF'
]
