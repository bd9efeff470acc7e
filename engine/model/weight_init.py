"""Weight initializers selected by ``init_cfg`` dicts, and ``initialize``.

The random draws go through the same ``torch.nn.init`` calls in the same
module order as mmengine, so a seeded model initializes bitwise the same.
"""
import copy
import logging
import math
import warnings
from typing import Any, List, Optional, Union

import torch
import torch.nn as nn

from engine.logging import print_log
from engine.registry import WEIGHT_INITIALIZERS, build_from_cfg

__all__ = [
    'constant_init', 'xavier_init', 'normal_init', 'trunc_normal_init',
    'uniform_init', 'kaiming_init', 'caffe2_xavier_init',
    'bias_init_with_prob', 'trunc_normal_', 'initialize', 'update_init_info',
    'BaseInit', 'ConstantInit', 'XavierInit', 'NormalInit', 'TruncNormalInit',
    'UniformInit', 'KaimingInit', 'Caffe2XavierInit', 'PretrainedInit'
]


# --- functional initializers (weight, then bias) ---------------------------
def _has(module: nn.Module, name: str) -> bool:
    return getattr(module, name, None) is not None


def _init_bias(module: nn.Module, bias: float) -> None:
    if _has(module, 'bias'):
        nn.init.constant_(module.bias, bias)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    if _has(module, 'weight'):
        nn.init.constant_(module.weight, val)
    _init_bias(module, bias)


def xavier_init(module: nn.Module,
                gain: float = 1,
                bias: float = 0,
                distribution: str = 'normal') -> None:
    _check_distribution(distribution)
    if _has(module, 'weight'):
        if distribution == 'uniform':
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    _init_bias(module, bias)


def normal_init(module: nn.Module,
                mean: float = 0,
                std: float = 1,
                bias: float = 0) -> None:
    if _has(module, 'weight'):
        nn.init.normal_(module.weight, mean, std)
    _init_bias(module, bias)


def trunc_normal_init(module: nn.Module,
                      mean: float = 0,
                      std: float = 1,
                      a: float = -2,
                      b: float = 2,
                      bias: float = 0) -> None:
    if _has(module, 'weight'):
        trunc_normal_(module.weight, mean, std, a, b)
    _init_bias(module, bias)


def uniform_init(module: nn.Module,
                 a: float = 0,
                 b: float = 1,
                 bias: float = 0) -> None:
    if _has(module, 'weight'):
        nn.init.uniform_(module.weight, a, b)
    _init_bias(module, bias)


def kaiming_init(module: nn.Module,
                 a: float = 0,
                 mode: str = 'fan_out',
                 nonlinearity: str = 'relu',
                 bias: float = 0,
                 distribution: str = 'normal') -> None:
    _check_distribution(distribution)
    if _has(module, 'weight'):
        init = (
            nn.init.kaiming_uniform_
            if distribution == 'uniform' else nn.init.kaiming_normal_)
        init(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    _init_bias(module, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's ``XavierFill``: a uniform Kaiming fill over ``fan_in``."""
    kaiming_init(
        module,
        a=1,
        mode='fan_in',
        nonlinearity='leaky_relu',
        bias=bias,
        distribution='uniform')


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias whose sigmoid is ``prior_prob`` (focal-loss style heads)."""
    return float(-math.log((1 - prior_prob) / prior_prob))


def trunc_normal_(tensor: torch.Tensor,
                  mean: float = 0.,
                  std: float = 1.,
                  a: float = -2.,
                  b: float = 2.) -> torch.Tensor:
    """Fill ``tensor`` from N(mean, std^2) truncated to [a, b] by inverse
    transform sampling: a uniform draw between the CDF values of the bounds,
    mapped back through the inverse error function. (``torch.nn.init``'s
    version now uses rejection sampling, which draws different numbers.)"""

    def norm_cdf(x: float) -> float:
        return (1. + math.erf(x / math.sqrt(2.))) / 2.

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            'trunc_normal_: mean is more than 2 std from [a, b]; the '
            'distribution of values may be incorrect.',
            stacklevel=2)
    with torch.no_grad():
        low = norm_cdf((a - mean) / std)
        high = norm_cdf((b - mean) / std)
        tensor.uniform_(2 * low - 1, 2 * high - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.))
        tensor.add_(mean)
        tensor.clamp_(min=a, max=b)
    return tensor


def _check_distribution(distribution: str) -> None:
    if distribution not in ('uniform', 'normal'):
        raise ValueError("distribution should be 'uniform' or 'normal', "
                         f'but got {distribution!r}')


# --- init-info bookkeeping -------------------------------------------------
def update_init_info(module: nn.Module, init_info: str) -> None:
    """Record ``init_info`` for the parameters of ``module`` whose value
    changed since last recorded (detected by their mean), so the final
    report says which initializer set each parameter."""
    records = module._params_init_info
    for name, param in module.named_parameters():
        if param not in records:
            raise RuntimeError(
                f'parameter {name!r} of {type(module).__name__} appeared '
                'during init_weights; do not add or replace parameters while '
                'initializing')
        mean_value = param.data.mean().cpu()
        record = records[param]
        if record['tmp_mean_value'] != mean_value:
            record['init_info'] = init_info
            record['tmp_mean_value'] = mean_value


# --- config-driven initializers ---------------------------------------------
def _layer_matches(module: nn.Module, layers: List[str]) -> bool:
    """Whether the class of ``module`` or one of its direct bases is named in
    ``layers`` (mmengine's matching rule)."""
    cls = type(module)
    names = {cls.__name__}.union(base.__name__ for base in cls.__bases__)
    return not names.isdisjoint(layers)


class BaseInit:
    """Common arguments of the initializers.

    Args:
        bias: value of the biases.
        bias_prob: if given, the bias is ``bias_init_with_prob(bias_prob)``.
        layer: class name(s) of the sub-modules to initialize; ignored when
            the initializer is applied to a whole module via ``override``.
    """

    def __init__(self,
                 *,
                 bias: float = 0,
                 bias_prob: Optional[float] = None,
                 layer: Union[str, List[str], None] = None):
        self.wholemodule = False
        if isinstance(bias, bool) or not isinstance(bias, (int, float)):
            raise TypeError(
                f'init_cfg `bias` must be a number, but got {bias!r}')
        if bias_prob is not None and not isinstance(bias_prob, float):
            raise TypeError('init_cfg `bias_prob` must be a float, but got '
                            f'{bias_prob!r}')
        if layer is None:
            layer = []
        elif isinstance(layer, str):
            layer = [layer]
        elif not (isinstance(layer, list)
                  and all(isinstance(x, str) for x in layer)):
            raise TypeError('init_cfg `layer` must be a str or a list of '
                            f'str, but got {layer!r}')
        self.bias = (
            bias_init_with_prob(bias_prob) if bias_prob is not None else bias)
        self.layer = layer

    def init_module(self, module: nn.Module) -> None:
        """Initialize one module (weight and bias)."""
        raise NotImplementedError

    def __call__(self, module: nn.Module) -> None:

        def init(m: nn.Module) -> None:
            if self.wholemodule or _layer_matches(m, self.layer):
                self.init_module(m)

        module.apply(init)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Constant')
class ConstantInit(BaseInit):
    """Fill weights with ``val`` and biases with ``bias``."""

    def __init__(self, val: float, **kwargs):
        super().__init__(**kwargs)
        self.val = val

    def init_module(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: val={self.val}, bias={self.bias}'


@WEIGHT_INITIALIZERS.register_module(name='Xavier')
class XavierInit(BaseInit):
    """Glorot initialization (``gain``, ``distribution`` normal|uniform)."""

    def __init__(self, gain: float = 1, distribution: str = 'normal',
                 **kwargs):
        super().__init__(**kwargs)
        _check_distribution(distribution)
        self.gain = gain
        self.distribution = distribution

    def init_module(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: gain={self.gain}, '
                f'distribution={self.distribution}, bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='Normal')
class NormalInit(BaseInit):
    """Weights from N(mean, std^2)."""

    def __init__(self, mean: float = 0, std: float = 1, **kwargs):
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std

    def init_module(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: mean={self.mean}, std={self.std}, '
                f'bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='TruncNormal')
class TruncNormalInit(BaseInit):
    """Weights from N(mean, std^2) truncated to [a, b]."""

    def __init__(self,
                 mean: float = 0,
                 std: float = 1,
                 a: float = -2,
                 b: float = 2,
                 **kwargs):
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std
        self.a = a
        self.b = b

    def init_module(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b,
                          self.bias)

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: a={self.a}, b={self.b}, '
                f'mean={self.mean}, std={self.std}, bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='Uniform')
class UniformInit(BaseInit):
    """Weights from U(a, b)."""

    def __init__(self, a: float = 0, b: float = 1, **kwargs):
        super().__init__(**kwargs)
        self.a = a
        self.b = b

    def init_module(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: a={self.a}, b={self.b}, '
                f'bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='Kaiming')
class KaimingInit(BaseInit):
    """He initialization (``a``, ``mode``, ``nonlinearity``,
    ``distribution``)."""

    def __init__(self,
                 a: float = 0,
                 mode: str = 'fan_out',
                 nonlinearity: str = 'relu',
                 distribution: str = 'normal',
                 **kwargs):
        super().__init__(**kwargs)
        _check_distribution(distribution)
        self.a = a
        self.mode = mode
        self.nonlinearity = nonlinearity
        self.distribution = distribution

    def init_module(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias,
                     self.distribution)

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: a={self.a}, mode={self.mode}, '
                f'nonlinearity={self.nonlinearity}, '
                f'distribution={self.distribution}, bias={self.bias}')


@WEIGHT_INITIALIZERS.register_module(name='Caffe2Xavier')
class Caffe2XavierInit(KaimingInit):
    """Caffe2's XavierFill (see :func:`caffe2_xavier_init`)."""

    def __init__(self, **kwargs):
        super().__init__(
            a=1,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform',
            **kwargs)


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class PretrainedInit:
    """Load weights from a checkpoint (``strict=False``), optionally only
    the entries under ``prefix`` (e.g. ``'backbone.'``), with the prefix
    removed. It runs after every other initializer of the same module."""

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: Any = 'cpu'):
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location

    def __call__(self, module: nn.Module) -> None:
        # imported here: the runner package sits above the model package
        from engine.runner.checkpoint import (load_checkpoint,
                                              load_checkpoint_file,
                                              load_state_dict)
        if self.prefix is None:
            print_log(f'load model from: {self.checkpoint}', logger='current')
            load_checkpoint(
                module,
                self.checkpoint,
                map_location=self.map_location,
                strict=False,
                logger='current')
        else:
            print_log(f'load {self.prefix} in model from: {self.checkpoint}',
                      logger='current')
            checkpoint = load_checkpoint_file(
                self.checkpoint, map_location=self.map_location)
            state_dict = checkpoint.get('state_dict', checkpoint)
            prefix = self.prefix if self.prefix.endswith('.') else (
                self.prefix + '.')
            state_dict = {
                key[len(prefix):]: value
                for key, value in state_dict.items()
                if key.startswith(prefix)
            }
            if not state_dict:
                raise ValueError(f'no entry starts with {prefix!r} in '
                                 f'checkpoint {self.checkpoint}')
            load_state_dict(module, state_dict, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: load from {self.checkpoint}'


def _initialize(module: nn.Module, cfg: dict, wholemodule: bool = False):
    initializer = build_from_cfg(cfg, WEIGHT_INITIALIZERS)
    # `override` initializes a named sub-module as a whole, without `layer`
    initializer.wholemodule = wholemodule
    initializer(module)


def _initialize_override(module: nn.Module, override: Union[dict, list],
                         cfg: dict) -> None:
    if not isinstance(override, (dict, list)):
        raise TypeError('init_cfg `override` must be a dict or a list of '
                        f'dicts, but got {type(override).__name__}')
    for item in [override] if isinstance(override, dict) else override:
        item = copy.deepcopy(item)
        name = item.pop('name', None)
        if name is None:
            raise ValueError(
                f'init_cfg `override` needs a "name" key, but got {item}')
        if not item:
            # only a name: reuse the outer initializer's arguments
            item.update(cfg)
        elif 'type' not in item:
            raise ValueError('init_cfg `override` with arguments needs a '
                             f'"type" key, but got {item}')
        if not hasattr(module, name):
            raise RuntimeError(
                f'{type(module).__name__} has no sub-module {name!r} named in '
                f'init_cfg override {item}')
        _initialize(getattr(module, name), item, wholemodule=True)


def initialize(module: nn.Module, init_cfg: Union[dict, List[dict]]) -> None:
    """Initialize ``module`` from one or several init configs: each selects
    sub-modules by class name (``layer``) and/or names attributes to
    initialize as a whole (``override``)."""
    if not isinstance(init_cfg, (dict, list)):
        raise TypeError('init_cfg must be a dict or a list of dicts, but got '
                        f'{type(init_cfg).__name__}')
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        # copied: one config may be shared by many modules
        cfg = copy.deepcopy(cfg)
        override = cfg.pop('override', None)
        if (not cfg.get('layer') and override is None
                and cfg.get('type') not in ('Pretrained', PretrainedInit)):
            print_log(
                f'init_cfg {cfg} of {type(module).__name__} has neither '
                '`layer` nor `override`, so it initializes nothing',
                logger='current',
                level=logging.WARNING)
        _initialize(module, cfg)
        if override is not None:
            cfg.pop('layer', None)
            _initialize_override(module, override, cfg)
