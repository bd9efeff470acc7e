"""Registries: build engine objects from ``dict(type=..., ...)`` configs."""
from .build_functions import (MissingTypeError, build_from_cfg,
                              build_model_from_cfg, build_runner_from_cfg,
                              build_scheduler_from_cfg)
from .registry import Registry, RegistryError
from .root import (DATA_SAMPLERS, DATASETS, EVALUATOR, FUNCTIONS, HOOKS,
                   LOG_PROCESSORS, LOOPS, METRICS, MODEL_WRAPPERS, MODELS,
                   OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS,
                   PARAM_SCHEDULERS, RUNNER_CONSTRUCTORS, RUNNERS, TRANSFORMS,
                   VISBACKENDS, VISUALIZERS, WEIGHT_INITIALIZERS)

__all__ = [
    'Registry', 'RegistryError', 'MissingTypeError', 'build_from_cfg',
    'build_model_from_cfg', 'build_runner_from_cfg',
    'build_scheduler_from_cfg', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS',
    'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'FUNCTIONS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS'
]
