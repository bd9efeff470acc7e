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
from .scheduler import *  # noqa: F401,F403
from .scheduler import __all__ as _scheduler_all

__all__ = [
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'build_optim_wrapper',
    'DefaultOptimWrapperConstructor', 'OptimWrapper', 'AmpOptimWrapper',
    'OptimWrapperDict', 'BaseOptimWrapper', 'TORCH_OPTIMIZERS',
    'register_torch_optimizers'
] + list(_scheduler_all)
