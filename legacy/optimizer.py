"""mmcv's optimizer builder: ``build_optimizer(model, cfg)`` with
``paramwise_cfg``.

The optimizers themselves come from the engine's ``OPTIMIZERS`` registry (every
``torch.optim`` class, plus whatever users register there). The parameter
groups follow mmcv's rules, which differ from mmengine's constructor in ways
that change the groups: mmcv keeps frozen parameters as groups, always writes
the bias/norm/depth-wise values (with multipliers of 1 by default), checks a
depth-wise convolution before a bias, and copies nothing else from
``custom_keys`` into the groups. One group per parameter, in
``named_parameters`` order, exactly as mmcv builds them.
"""
import copy
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from engine.registry import OPTIMIZERS, Registry

OPTIMIZER_BUILDERS = Registry('optimizer builder')

_PARAMWISE_KEYS = ('custom_keys', 'bias_lr_mult', 'bias_decay_mult',
                   'norm_decay_mult', 'dwconv_decay_mult', 'bypass_duplicate',
                   'dcn_offset_lr_mult')
_NORMS = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)


@OPTIMIZER_BUILDERS.register_module()
class DefaultOptimizerConstructor:
    """Build an optimizer from ``optimizer_cfg`` with per-parameter options.

    ``paramwise_cfg`` keys: ``custom_keys`` (``{substring: dict(lr_mult,
    decay_mult)}``, the longest matching key wins, ties alphabetically),
    ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
    ``dwconv_decay_mult``, ``dcn_offset_lr_mult``, ``bypass_duplicate``.
    Without ``paramwise_cfg`` the optimizer gets ``model.parameters()``.
    """

    def __init__(self,
                 optimizer_cfg: Dict,
                 paramwise_cfg: Optional[Dict] = None):
        if not isinstance(optimizer_cfg, dict):
            raise TypeError('optimizer_cfg should be a dict, but got '
                            f'{type(optimizer_cfg).__name__}')
        self.optimizer_cfg = optimizer_cfg
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = optimizer_cfg.get('lr', None)
        self.base_wd = optimizer_cfg.get('weight_decay', None)
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        cfg = self.paramwise_cfg
        if not isinstance(cfg, dict):
            raise TypeError('paramwise_cfg should be None or a dict, but got '
                            f'{type(cfg).__name__}')
        unknown = sorted(set(cfg) - set(_PARAMWISE_KEYS))
        if unknown:
            raise KeyError(f'paramwise_cfg has unknown key(s) {unknown}; '
                           f'accepted keys are {list(_PARAMWISE_KEYS)}')
        custom_keys = cfg.get('custom_keys', {})
        if not isinstance(custom_keys, dict):
            raise TypeError('paramwise_cfg["custom_keys"] must be a dict, '
                            f'but got {type(custom_keys).__name__}')
        if self.base_wd is None:
            needs_wd = [
                f'custom_keys[{key!r}]' for key, opts in custom_keys.items()
                if 'decay_mult' in opts
            ] + [
                key for key in ('bias_decay_mult', 'norm_decay_mult',
                                'dwconv_decay_mult') if key in cfg
            ]
            if needs_wd:
                raise ValueError(
                    f'paramwise_cfg sets {", ".join(needs_wd)} but the '
                    'optimizer config has no weight_decay to multiply')

    @staticmethod
    def _is_in(param_group: Dict, param_group_list: List[Dict]) -> bool:
        seen = set()
        for group in param_group_list:
            seen.update(group['params'])
        return not seen.isdisjoint(param_group['params'])

    def add_params(self,
                   params: List[Dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        """Append one group per parameter of ``module`` (recursively)."""
        cfg = self.paramwise_cfg
        custom_keys = cfg.get('custom_keys', {})
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bias_lr_mult = cfg.get('bias_lr_mult', 1.)
        bias_decay_mult = cfg.get('bias_decay_mult', 1.)
        norm_decay_mult = cfg.get('norm_decay_mult', 1.)
        dwconv_decay_mult = cfg.get('dwconv_decay_mult', 1.)
        bypass_duplicate = cfg.get('bypass_duplicate', False)
        dcn_offset_lr_mult = cfg.get('dcn_offset_lr_mult', 1.)

        is_norm = isinstance(module, _NORMS)
        is_dwconv = (isinstance(module, nn.Conv2d)
                     and module.in_channels == module.groups)
        for name, param in module.named_parameters(recurse=False):
            group: Dict = {'params': [param]}
            if not param.requires_grad:
                params.append(group)
                continue
            if bypass_duplicate and self._is_in(group, params):
                warnings.warn(f'{prefix} is duplicate. It is skipped since '
                              f'bypass_duplicate={bypass_duplicate}')
                continue
            full_name = f'{prefix}.{name}'
            key = next((k for k in sorted_keys if k in full_name), None)
            if key is not None:
                group['lr'] = self.base_lr * custom_keys[key].get(
                    'lr_mult', 1.)
                if self.base_wd is not None:
                    group['weight_decay'] = self.base_wd * custom_keys[
                        key].get('decay_mult', 1.)
            else:
                if name == 'bias' and not (is_norm or is_dcn_module):
                    group['lr'] = self.base_lr * bias_lr_mult
                if (prefix.find('conv_offset') != -1 and is_dcn_module
                        and isinstance(module, nn.Conv2d)):
                    group['lr'] = self.base_lr * dcn_offset_lr_mult
                if self.base_wd is not None:
                    if is_norm:
                        group['weight_decay'] = self.base_wd * norm_decay_mult
                    elif is_dwconv:
                        group['weight_decay'] = \
                            self.base_wd * dwconv_decay_mult
                    elif name == 'bias' and not is_dcn_module:
                        group['weight_decay'] = self.base_wd * bias_decay_mult
            params.append(group)

        # Deformable convolutions live in mmcv.ops, which has no counterpart
        # here, so no module is ever one.
        for child_name, child in module.named_children():
            child_prefix = f'{prefix}.{child_name}' if prefix else child_name
            self.add_params(params, child, prefix=child_prefix,
                            is_dcn_module=False)

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        if hasattr(model, 'module'):
            model = model.module
        optimizer_cfg = self.optimizer_cfg.copy()
        if not self.paramwise_cfg:
            optimizer_cfg['params'] = model.parameters()
        else:
            params: List[Dict] = []
            self.add_params(params, model)
            optimizer_cfg['params'] = params
        return OPTIMIZERS.build(optimizer_cfg)


def build_optimizer_constructor(cfg: Dict):
    """Build an optimizer constructor from ``OPTIMIZER_BUILDERS``."""
    return OPTIMIZER_BUILDERS.build(cfg)


def build_optimizer(model: nn.Module, cfg: Dict) -> torch.optim.Optimizer:
    """Build the optimizer of ``model`` from ``cfg`` (``type``, its
    arguments, and optionally ``constructor`` and ``paramwise_cfg``)."""
    if not isinstance(cfg, dict):
        raise TypeError(f'optimizer cfg must be a dict, but got '
                        f'{type(cfg).__name__}')
    optimizer_cfg = copy.deepcopy(cfg)
    constructor_type = optimizer_cfg.pop('constructor',
                                         'DefaultOptimizerConstructor')
    paramwise_cfg = optimizer_cfg.pop('paramwise_cfg', None)
    constructor = build_optimizer_constructor(
        dict(
            type=constructor_type,
            optimizer_cfg=optimizer_cfg,
            paramwise_cfg=paramwise_cfg))
    return constructor(model)
