"""Models trained by the engine: ``BaseModel``, data preprocessors,
``BaseModule`` weight initialization, distributed wrappers and averaged
(EMA) models."""
from .averaged_model import (BaseAveragedModel, ExponentialMovingAverage,
                             MomentumAnnealingEMA, StochasticWeightAverage)
from .base_model import BaseModel, NonFiniteLossError
from .base_module import BaseModule, ModuleDict, ModuleList, Sequential
from .data_preprocessor import BaseDataPreprocessor, ImgDataPreprocessor
from .utils import stack_batch
from .weight_init import (BaseInit, Caffe2XavierInit, ConstantInit,
                          KaimingInit, NormalInit, PretrainedInit,
                          TruncNormalInit, UniformInit, XavierInit,
                          bias_init_with_prob, caffe2_xavier_init,
                          constant_init, initialize, kaiming_init,
                          normal_init, trunc_normal_, trunc_normal_init,
                          uniform_init, update_init_info, xavier_init)
from .wrappers import (MMDistributedDataParallel,
                       MMSeparateDistributedDataParallel, is_model_wrapper)

__all__ = [
    'BaseAveragedModel', 'ExponentialMovingAverage', 'MomentumAnnealingEMA',
    'StochasticWeightAverage', 'BaseModel', 'NonFiniteLossError',
    'BaseModule', 'ModuleDict', 'ModuleList', 'Sequential',
    'BaseDataPreprocessor', 'ImgDataPreprocessor', 'stack_batch', 'BaseInit',
    'Caffe2XavierInit', 'ConstantInit', 'KaimingInit', 'NormalInit',
    'PretrainedInit', 'TruncNormalInit', 'UniformInit', 'XavierInit',
    'bias_init_with_prob', 'caffe2_xavier_init', 'constant_init',
    'initialize', 'kaiming_init', 'normal_init', 'trunc_normal_',
    'trunc_normal_init', 'uniform_init', 'update_init_info', 'xavier_init',
    'MMDistributedDataParallel', 'MMSeparateDistributedDataParallel',
    'is_model_wrapper'
]
