"""``BaseModule``: an ``nn.Module`` that initializes its weights from
``init_cfg`` and records which initializer set each parameter."""
import copy
import logging
from abc import ABCMeta
from collections import defaultdict
from logging import FileHandler
from typing import Iterable, List, Optional, Union

import torch.nn as nn

from engine.logging import MMLogger, print_log
from .weight_init import PretrainedInit, initialize, update_init_info
from .wrappers import is_model_wrapper


def _is_pretrained(cfg: dict) -> bool:
    return cfg['type'] in ('Pretrained', PretrainedInit)


class BaseModule(nn.Module, metaclass=ABCMeta):
    """``nn.Module`` with ``init_weights()`` driven by ``init_cfg``.

    ``init_weights`` applies this module's ``init_cfg`` (Pretrained entries
    last, so loaded weights win), then calls ``init_weights`` of each direct
    child that has one and has not been initialized yet. A config lower in
    the tree therefore overrides one above it. The top-level call writes a
    per-parameter report of what initialized it to the current logger's
    file (or at DEBUG level when the logger has no file).

    Args:
        init_cfg: one init config dict or a list of them.
    """

    def __init__(self, init_cfg: Union[dict, List[dict], None] = None):
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        return self._is_init

    @is_init.setter
    def is_init(self, value: bool) -> None:
        self._is_init = value

    def init_weights(self) -> None:
        """Initialize this module and its children (see the class doc)."""
        is_top_level = not hasattr(self, '_params_init_info')
        if is_top_level:
            records = defaultdict(dict)
            for param in self.parameters():
                records[param]['init_info'] = (
                    'The value is the same before and after calling '
                    f'`init_weights` of {type(self).__name__} ')
                records[param]['tmp_mean_value'] = param.data.mean().cpu()
            # shared by every sub-module, so changes made at any level are
            # recorded in the one report
            for module in self.modules():
                module._params_init_info = records

        if self._is_init:
            print_log(
                f'init_weights of {type(self).__name__} has been called more '
                'than once.',
                logger='current',
                level=logging.WARNING)
        else:
            self._init_self_and_children()
            self._is_init = True

        if is_top_level:
            self._dump_init_info()
            for module in self.modules():
                del module._params_init_info

    def _init_self_and_children(self) -> None:
        cfgs = self.init_cfg
        if isinstance(cfgs, dict):
            cfgs = [cfgs]
        cfgs = cfgs or []
        for cfg in cfgs:
            if not isinstance(cfg, dict) or 'type' not in cfg:
                raise TypeError(
                    f'init_cfg of {type(self).__name__} must be a dict with a '
                    f'"type" key or a list of them, but got {cfg!r}')
        pretrained = [cfg for cfg in cfgs if _is_pretrained(cfg)]
        if cfgs:
            print_log(
                f'initialize {type(self).__name__} with init_cfg '
                f'{self.init_cfg}',
                logger='current',
                level=logging.DEBUG)
            initialize(self, [cfg for cfg in cfgs if not _is_pretrained(cfg)])

        for child in self.children():
            if is_model_wrapper(child) and not hasattr(child, 'init_weights'):
                child = child.module
            if hasattr(child, 'init_weights') and not getattr(
                    child, 'is_init', False):
                child.init_weights()
                # a user-defined init_weights may have set anything
                update_init_info(
                    child,
                    init_info='Initialized by user-defined `init_weights` in '
                    f'{type(child).__name__} ')
        if pretrained:
            initialize(self, pretrained)

    def _dump_init_info(self) -> None:
        from engine.dist import get_rank
        if get_rank() != 0:
            return
        logger = MMLogger.get_current_instance()
        lines = [
            f"\n{name} - {param.shape}: "
            f"\n{self._params_init_info[param]['init_info']} \n"
            for name, param in self.named_parameters()
        ]
        file_handlers = [
            h for h in logger.handlers if isinstance(h, FileHandler)
        ]
        for handler in file_handlers:
            handler.stream.write(
                'Name of parameter - Initialization information\n')
            handler.stream.write(''.join(lines))
            handler.stream.flush()
        if not file_handlers:
            for line in lines:
                logger.debug(line)

    def __repr__(self) -> str:
        s = super().__repr__()
        if self.init_cfg:
            s += f'\ninit_cfg={self.init_cfg}'
        return s


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` whose children are initialized by ``init_weights``
    (a plain ``nn.Sequential`` would hide them from it)."""

    def __init__(self, *args: nn.Module, init_cfg: Optional[dict] = None):
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` taking part in ``init_weights``."""

    def __init__(self,
                 modules: Optional[Iterable[nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` taking part in ``init_weights``."""

    def __init__(self,
                 modules: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
