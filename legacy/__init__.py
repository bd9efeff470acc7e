"""The MMCV 1.x runner API on the engine core.

Everything a training script imported from ``mmcv.runner``,
``mmcv.utils`` (``get_logger``, ``print_log``) and ``mmcv.parallel`` is
exported here flat, so migrating a script is an import change::

    from legacy import Runner, get_logger   # was mmcv.runner / mmcv.utils
"""
from engine.hooks.priority import Priority, get_priority
from engine.model.base_module import (BaseModule, ModuleDict, ModuleList,
                                      Sequential)
from .checkpoint import (get_state_dict, load_checkpoint, load_state_dict,
                         save_checkpoint, weights_to_cpu)
from .dist_utils import (allreduce_grads, allreduce_params, get_dist_info,
                         init_dist, master_only)
from .fp16_utils import LossScaler, auto_fp16, force_fp32, wrap_fp16_model
from .hooks import (HOOKS, CheckpointHook, CosineAnnealingLrUpdaterHook,
                    CosineAnnealingMomentumUpdaterHook,
                    CosineRestartLrUpdaterHook, CyclicLrUpdaterHook,
                    CyclicMomentumUpdaterHook, DistEvalHook,
                    DistSamplerSeedHook, EMAHook, EmptyCacheHook, EvalHook,
                    ExpLrUpdaterHook, FixedLrUpdaterHook,
                    FlatCosineAnnealingLrUpdaterHook, Fp16OptimizerHook,
                    GradientCumulativeFp16OptimizerHook,
                    GradientCumulativeOptimizerHook, Hook, InvLrUpdaterHook,
                    IterTimerHook, LinearAnnealingLrUpdaterHook,
                    LinearAnnealingMomentumUpdaterHook, LoggerHook,
                    LrUpdaterHook, MomentumUpdaterHook,
                    OneCycleLrUpdaterHook, OneCycleMomentumUpdaterHook,
                    OptimizerHook, PolyLrUpdaterHook, StepLrUpdaterHook,
                    StepMomentumUpdaterHook, SyncBuffersHook,
                    TensorboardLoggerHook, TextLoggerHook)
from .inference import multi_gpu_test, single_gpu_test
from .log_buffer import LogBuffer
from .logging import get_logger, print_log
from .optimizer import (OPTIMIZER_BUILDERS, OPTIMIZERS,
                        DefaultOptimizerConstructor, build_optimizer,
                        build_optimizer_constructor)
from .parallel import (MMDataParallel, MMDistributedDataParallel,
                       is_module_wrapper)
from .runner import (RUNNERS, BaseRunner, EpochBasedRunner, IterBasedRunner,
                     IterLoader, Runner, build_runner, get_host_info,
                     get_time_str, set_random_seed)

__all__ = [
    'BaseRunner', 'EpochBasedRunner', 'Runner', 'IterBasedRunner',
    'IterLoader', 'build_runner', 'RUNNERS', 'Hook', 'HOOKS', 'OptimizerHook',
    'Fp16OptimizerHook', 'GradientCumulativeOptimizerHook',
    'GradientCumulativeFp16OptimizerHook', 'LrUpdaterHook',
    'FixedLrUpdaterHook', 'StepLrUpdaterHook', 'ExpLrUpdaterHook',
    'PolyLrUpdaterHook', 'InvLrUpdaterHook', 'CosineAnnealingLrUpdaterHook',
    'FlatCosineAnnealingLrUpdaterHook', 'CosineRestartLrUpdaterHook',
    'CyclicLrUpdaterHook', 'OneCycleLrUpdaterHook',
    'LinearAnnealingLrUpdaterHook', 'MomentumUpdaterHook',
    'StepMomentumUpdaterHook', 'CosineAnnealingMomentumUpdaterHook',
    'CyclicMomentumUpdaterHook', 'OneCycleMomentumUpdaterHook',
    'LinearAnnealingMomentumUpdaterHook', 'CheckpointHook', 'IterTimerHook',
    'LoggerHook', 'TextLoggerHook', 'TensorboardLoggerHook', 'EvalHook',
    'DistEvalHook', 'DistSamplerSeedHook', 'EMAHook', 'SyncBuffersHook',
    'EmptyCacheHook', 'Priority', 'get_priority', 'LogBuffer', 'get_logger',
    'print_log', 'save_checkpoint', 'load_checkpoint', 'load_state_dict',
    'weights_to_cpu', 'get_state_dict', 'build_optimizer',
    'build_optimizer_constructor', 'DefaultOptimizerConstructor',
    'OPTIMIZERS', 'OPTIMIZER_BUILDERS', 'auto_fp16', 'force_fp32',
    'wrap_fp16_model', 'LossScaler', 'MMDataParallel',
    'MMDistributedDataParallel', 'is_module_wrapper', 'init_dist',
    'get_dist_info', 'master_only', 'allreduce_grads', 'allreduce_params',
    'BaseModule', 'ModuleList', 'Sequential', 'ModuleDict',
    'single_gpu_test', 'multi_gpu_test', 'get_host_info', 'get_time_str',
    'set_random_seed'
]
