"""One optimizer per sub-module, from an mmcv-era config.

GAN codebases of the MMCV 1.x era (mmgen, mmedit) configured
``optimizer = dict(generator=dict(type='Adam', ...), discriminator=...)``,
one optimizer per named sub-module of the model, and passed the resulting
dict of optimizers to the runner. The engine keeps several optimizers in an
``OptimWrapperDict``; :class:`LegacyMultiOptimWrapperConstructor` builds one
from such a config, so ``compat.migrate_config`` can translate it.
"""
from typing import Optional

import torch.nn as nn

from engine.optim import OptimWrapperDict, build_optim_wrapper
from engine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from .runner_info import unwrap_model

__all__ = ['LegacyMultiOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LegacyMultiOptimWrapperConstructor:
    """Build ``OptimWrapperDict(name=wrapper of model.<name>)``.

    Args:
        optim_wrapper_cfg: ``{name: optim_wrapper config}``; each name is a
            sub-module of the model, whose parameters the wrapper's optimizer
            updates (a config may carry its own ``paramwise_cfg`` and
            ``constructor``).
        paramwise_cfg: must be None (give it per sub-module).
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError(
                'LegacyMultiOptimWrapperConstructor needs a dict of '
                '{sub-module name: optim_wrapper config}, got '
                f'{optim_wrapper_cfg!r}')
        if paramwise_cfg is not None:
            raise ValueError(
                'LegacyMultiOptimWrapperConstructor: give paramwise_cfg inside '
                'each sub-module\'s config, not at the top level')
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise TypeError(
                    f'optim_wrapper[{name!r}] must be a dict with an '
                    f'"optimizer", got {cfg!r}')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap_model(model)
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                raise AttributeError(
                    f'the optimizer config names {name!r}, but '
                    f'{type(model).__name__} has no sub-module of that name')
            wrappers[name] = build_optim_wrapper(unwrap_model(module), cfg)
        return OptimWrapperDict(**wrappers)
