"""Releases cached CUDA memory at chosen moments (fragmentation relief)."""
from typing import Optional, Sequence, Union

import torch

from engine.registry import HOOKS
from .hook import DATA_BATCH, Hook


def _empty_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """Calls ``torch.cuda.empty_cache()`` before and/or after each epoch
    and/or after each iteration; does nothing without CUDA."""

    priority = 'NORMAL'

    def __init__(self,
                 before_epoch: bool = False,
                 after_epoch: bool = True,
                 after_iter: bool = False) -> None:
        self._do_before_epoch = before_epoch
        self._do_after_epoch = after_epoch
        self._do_after_iter = after_iter

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: DATA_BATCH = None,
                    outputs: Optional[Union[dict, Sequence]] = None,
                    mode: str = 'train') -> None:
        if self._do_after_iter:
            _empty_cache()

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        if self._do_before_epoch:
            _empty_cache()

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        if self._do_after_epoch:
            _empty_cache()
