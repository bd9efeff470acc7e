"""Building optimizer wrappers from configs, with per-parameter settings.

``DefaultOptimWrapperConstructor`` must produce the same parameter groups, in
the same order, as mmengine 0.10.7: optimizers such as SGD with momentum or
AdamW are sensitive to group order only through floating-point summation
order, but the checkpoint layout and the bitwise parity tests are not.
"""
import copy
import inspect
import logging
from typing import List, Optional, Union

import torch
import torch.nn as nn
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from engine.logging import print_log
from engine.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                             OPTIMIZERS)
from .optim_wrapper import OptimWrapper

_NORM_TYPES = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)
_DCN_CLASS_NAMES = {'DeformConv2d', 'ModulatedDeformConv2d'}
PARAMWISE_KEYS = frozenset({
    'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
    'flat_decay_mult', 'custom_keys', 'bypass_duplicate', 'dcn_offset_lr_mult'
})


def register_torch_optimizers() -> List[str]:
    """Register every ``torch.optim`` optimizer class in OPTIMIZERS.

    ``torch.optim.Adafactor`` is registered as ``TorchAdafactor`` as mmengine
    does (``Adafactor`` names the transformers optimizer there).
    """
    names = []
    for name in dir(torch.optim):
        cls = getattr(torch.optim, name)
        if not inspect.isclass(cls) or not issubclass(cls,
                                                      torch.optim.Optimizer):
            continue
        reg_name = 'TorchAdafactor' if name == 'Adafactor' else name
        if reg_name not in OPTIMIZERS:
            OPTIMIZERS.register_module(name=reg_name, module=cls)
        names.append(name)
    return names


TORCH_OPTIMIZERS = register_torch_optimizers()


def _is_dcn(module: nn.Module) -> bool:
    """Deformable convolutions (mmcv.ops), recognised by class name so that
    no mmcv import is needed."""
    return any(c.__name__ in _DCN_CLASS_NAMES for c in type(module).__mro__)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Build an optimizer wrapper, with optional per-parameter settings.

    Args:
        optim_wrapper_cfg: ``dict(type='OptimWrapper', optimizer=dict(...),
            ...)``; ``type`` defaults to ``OptimWrapper``.
        paramwise_cfg: per-parameter multipliers, keys:
            ``custom_keys`` (dict of name substring -> dict(lr_mult,
            decay_mult, other group options); the longest matching key wins,
            ties broken alphabetically, and it overrides the rules below),
            ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
            ``dwconv_decay_mult``, ``flat_decay_mult``, ``dcn_offset_lr_mult``
            and ``bypass_duplicate`` (skip parameters already in a group
            instead of failing).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError('optim_wrapper_cfg should be a dict, but got '
                            f'{type(optim_wrapper_cfg).__name__}')
        if 'optimizer' not in optim_wrapper_cfg:
            raise KeyError('optim_wrapper_cfg must contain an "optimizer" '
                           f'config, got keys {list(optim_wrapper_cfg)}')
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg = self.optim_wrapper_cfg.pop('optimizer')
        if not isinstance(self.optimizer_cfg, dict) or \
                'type' not in self.optimizer_cfg:
            raise TypeError('optimizer should be a dict with a "type" key, '
                            f'but got {self.optimizer_cfg!r}')
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = self.optimizer_cfg.get('lr', None)
        self.base_wd = self.optimizer_cfg.get('weight_decay', None)
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        cfg = self.paramwise_cfg
        if not isinstance(cfg, dict):
            raise TypeError('paramwise_cfg should be None or a dict, but got '
                            f'{type(cfg).__name__}')
        unknown = sorted(set(cfg) - PARAMWISE_KEYS)
        if unknown:
            raise KeyError(f'unknown paramwise_cfg key(s) {unknown}; accepted '
                           f'keys are {sorted(PARAMWISE_KEYS)}')
        custom_keys = cfg.get('custom_keys', {})
        if not isinstance(custom_keys, dict):
            raise TypeError('paramwise_cfg.custom_keys should be a dict, but '
                            f'got {type(custom_keys).__name__}')
        for key, options in custom_keys.items():
            if not isinstance(options, dict):
                raise TypeError(f'paramwise_cfg.custom_keys[{key!r}] should '
                                'be a dict such as dict(lr_mult=0.1), but got '
                                f'{options!r}')
            if 'decay_mult' in options and self.base_wd is None:
                raise ValueError(f'custom_keys[{key!r}] sets decay_mult but '
                                 'the optimizer has no weight_decay')
            if 'lr_mult' in options and self.base_lr is None:
                raise ValueError(f'custom_keys[{key!r}] sets lr_mult but the '
                                 'optimizer config has no lr')
        for key in ('bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult'):
            if key in cfg and self.base_wd is None:
                raise ValueError(f'paramwise_cfg.{key} needs weight_decay in '
                                 'the optimizer config')

    @staticmethod
    def _is_in(param_group: dict, param_group_list: list) -> bool:
        """Whether a parameter of ``param_group`` is already in the list."""
        params = set(param_group['params'])
        return any(not params.isdisjoint(group['params'])
                   for group in param_group_list)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """Append one group per parameter of ``module`` and its children,
        depth first, in ``named_parameters`` order."""
        cfg = self.paramwise_cfg
        custom_keys = cfg.get('custom_keys', {})
        # Alphabetical first, then longest first (the sort is stable).
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bias_lr_mult = cfg.get('bias_lr_mult', None)
        bias_decay_mult = cfg.get('bias_decay_mult', None)
        norm_decay_mult = cfg.get('norm_decay_mult', None)
        dwconv_decay_mult = cfg.get('dwconv_decay_mult', None)
        flat_decay_mult = cfg.get('flat_decay_mult', None)
        bypass_duplicate = cfg.get('bypass_duplicate', False)
        dcn_offset_lr_mult = cfg.get('dcn_offset_lr_mult', None)

        is_norm = isinstance(module, _NORM_TYPES)
        is_dwconv = (isinstance(module, nn.Conv2d)
                     and module.in_channels == module.groups)

        for name, param in module.named_parameters(recurse=False):
            group = {'params': [param]}
            full_name = f'{prefix}.{name}' if prefix else name
            if bypass_duplicate and self._is_in(group, params):
                print_log(f'{prefix} is duplicate. It is skipped since '
                          f'bypass_duplicate={bypass_duplicate}',
                          logger='current', level=logging.WARNING)
                continue
            if not param.requires_grad:
                print_log(f'{prefix}.{name} is skipped since its '
                          f'requires_grad={param.requires_grad}',
                          logger='current', level=logging.WARNING)
                continue

            matched = next(
                (k for k in sorted_keys if k in f'{prefix}.{name}'), None)
            if matched is not None:
                options = custom_keys[matched]
                group['lr'] = self.base_lr * options.get('lr_mult', 1.)
                if self.base_wd is not None:
                    group['weight_decay'] = (self.base_wd *
                                             options.get('decay_mult', 1.))
                group.update(options)
            else:
                if (name == 'bias' and not (is_norm or is_dcn_module)
                        and bias_lr_mult is not None):
                    group['lr'] = self.base_lr * bias_lr_mult
                if ('conv_offset' in prefix and is_dcn_module
                        and dcn_offset_lr_mult is not None
                        and isinstance(module, nn.Conv2d)):
                    group['lr'] = self.base_lr * dcn_offset_lr_mult
                if self.base_wd is not None:
                    decay_mult = None
                    if is_norm and norm_decay_mult is not None:
                        decay_mult = norm_decay_mult
                    elif (name == 'bias' and not is_dcn_module
                          and bias_decay_mult is not None):
                        decay_mult = bias_decay_mult
                    elif is_dwconv and dwconv_decay_mult is not None:
                        decay_mult = dwconv_decay_mult
                    elif (param.ndim == 1 and not is_dcn_module
                          and flat_decay_mult is not None):
                        decay_mult = flat_decay_mult
                    if decay_mult is not None:
                        group['weight_decay'] = self.base_wd * decay_mult
            params.append(group)
            for key, value in group.items():
                if key != 'params':
                    print_log(f'paramwise_options -- {full_name}:{key}={value}',
                              logger='current')

        child_is_dcn = _is_dcn(module)
        for child_name, child in module.named_children():
            child_prefix = f'{prefix}.{child_name}' if prefix else child_name
            self.add_params(params, child, prefix=child_prefix,
                            is_dcn_module=child_is_dcn)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        optim_wrapper_cfg = dict(self.optim_wrapper_cfg)
        optim_wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = dict(self.optimizer_cfg)
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            name, optimizer_cls = optimizer_cls, OPTIMIZERS.get(optimizer_cls)
            if optimizer_cls is None:
                raise OPTIMIZERS.unknown_key_error(name)
        # Some optimizers name their first argument differently
        # (model_params); fill whatever it is called.
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        if self.paramwise_cfg:
            groups: List[dict] = []
            self.add_params(groups, model)
            optimizer_cfg[first_arg] = groups
        else:
            optimizer_cfg[first_arg] = model.parameters()
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(
            optim_wrapper_cfg, default_args=dict(optimizer=optimizer))


def build_optim_wrapper(model: nn.Module, cfg: dict) -> OptimWrapper:
    """Build an optimizer wrapper for ``model`` from ``cfg``.

    ``cfg`` may name a ``constructor`` (default
    ``DefaultOptimWrapperConstructor``) and carry a ``paramwise_cfg``; the
    rest is the wrapper config with its ``optimizer``.
    """
    if not isinstance(cfg, dict):
        raise TypeError('optim_wrapper config should be a dict, but got '
                        f'{type(cfg).__name__}: {cfg!r}')
    optim_wrapper_cfg = copy.deepcopy(cfg)
    constructor_type = optim_wrapper_cfg.pop('constructor',
                                             'DefaultOptimWrapperConstructor')
    paramwise_cfg = optim_wrapper_cfg.pop('paramwise_cfg', None)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type,
             optim_wrapper_cfg=optim_wrapper_cfg,
             paramwise_cfg=paramwise_cfg))
    return constructor(model)
