"""The engine's root registries.

Each one names the engine module(s) whose import registers its members, so a
config can say ``type='SGD'`` without the user importing ``engine.optim``
first. Downstream projects hang child registries (with their own scope) off
these.
"""
from .build_functions import (build_model_from_cfg, build_runner_from_cfg,
                              build_scheduler_from_cfg)
from .registry import Registry

_OPTIM = ['engine.optim']

RUNNERS = Registry('runner', build_func=build_runner_from_cfg,
                   scope='engine', locations=['engine.runner'])
RUNNER_CONSTRUCTORS = Registry('runner constructor', scope='engine',
                               locations=['engine.runner'])
LOOPS = Registry('loop', scope='engine', locations=['engine.runner'])
HOOKS = Registry('hook', scope='engine', locations=['engine.hooks'])

DATASETS = Registry('dataset', scope='engine', locations=['engine.dataset'])
DATA_SAMPLERS = Registry('data sampler', scope='engine',
                         locations=['engine.dataset'])
TRANSFORMS = Registry('transform', scope='engine',
                      locations=['engine.dataset'])
FUNCTIONS = Registry('function', scope='engine',
                     locations=['engine.dataset'])

MODELS = Registry('model', build_func=build_model_from_cfg, scope='engine',
                  locations=['engine.model'])
MODEL_WRAPPERS = Registry('model_wrapper', scope='engine',
                          locations=['engine.model'])
WEIGHT_INITIALIZERS = Registry('weight initializer', scope='engine',
                               locations=['engine.model'])

OPTIMIZERS = Registry('optimizer', scope='engine', locations=_OPTIM)
OPTIM_WRAPPERS = Registry('optim_wrapper', scope='engine', locations=_OPTIM)
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      scope='engine', locations=_OPTIM)
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            build_func=build_scheduler_from_cfg,
                            scope='engine', locations=_OPTIM)

METRICS = Registry('metric', scope='engine', locations=['engine.evaluator'])
EVALUATOR = Registry('evaluator', scope='engine',
                     locations=['engine.evaluator'])

VISUALIZERS = Registry('visualizer', scope='engine',
                       locations=['engine.visualization'])
VISBACKENDS = Registry('vis_backend', scope='engine',
                       locations=['engine.visualization'])

LOG_PROCESSORS = Registry('log_processor', scope='engine',
                          locations=['engine.logging'])
