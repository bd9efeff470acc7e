"""``BaseModel``: the model side of a training step (preprocess, forward,
parse the losses, update through the optimizer wrapper)."""
from abc import abstractmethod
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn

from engine.registry import MODELS
from .base_module import BaseModule
from .data_preprocessor import BaseDataPreprocessor
from .utils import run_forward

Tensor = torch.Tensor


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite.

    Raised by ``engine.hooks.NonFiniteLossHook``, which checks the losses of
    past iterations in one batch at its interval instead of synchronizing
    with the device on every iteration.

    Attributes:
        losses: the loss values (floats) of the first bad iteration.
        iteration: that iteration, 1-based as in the log; None if unknown.
        epoch: its epoch, 1-based; None if unknown.
    """

    def __init__(self,
                 losses: Dict[str, float],
                 iteration: Optional[int] = None,
                 epoch: Optional[int] = None):
        self.losses = dict(losses)
        self.iteration = iteration
        self.epoch = epoch
        where = []
        if iteration is not None:
            where.append(f'iteration {iteration}')
        if epoch is not None:
            where.append(f'epoch {epoch}')
        values = ', '.join(f'{k}={v}' for k, v in self.losses.items())
        super().__init__(
            f"Non-finite loss at {' of '.join(where) or 'an iteration'}: "
            f'{values}. Training stopped; lower the learning rate, enable '
            'gradient clipping or check the data of that iteration.')


@MODELS.register_module()
class BaseModel(BaseModule):
    """Base class of models trained by the engine: subclasses implement
    ``forward(inputs, data_samples=None, mode='tensor')`` with the modes

    - ``'loss'``: a dict of loss tensors (or lists of them) for training,
    - ``'predict'``: a list of predictions, one per sample, for evaluation,
    - ``'tensor'``: raw network outputs.

    Args:
        data_preprocessor: a module or a config dict (built from ``MODELS``);
            None means :class:`BaseDataPreprocessor`.
        init_cfg: see :class:`BaseModule`.
    """

    def __init__(self,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if data_preprocessor is None:
            self.data_preprocessor = BaseDataPreprocessor()
        elif isinstance(data_preprocessor, nn.Module):
            self.data_preprocessor = data_preprocessor
        elif isinstance(data_preprocessor, dict):
            self.data_preprocessor = MODELS.build(data_preprocessor)
        else:
            raise TypeError('data_preprocessor should be a dict or an '
                            'nn.Module, but got '
                            f'{type(data_preprocessor).__name__}')

    @property
    def data_preprocessor(self) -> nn.Module:
        """The batch preprocessor, a sub-module.

        Read here rather than through ``nn.Module.__getattr__``, which is
        only reached after a failed normal lookup has built an
        ``AttributeError``: about a microsecond on every training step.
        """
        try:
            return self._modules['data_preprocessor']
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute "
                "'data_preprocessor'") from None

    @data_preprocessor.setter
    def data_preprocessor(self, value: Any) -> None:
        # nn.Module.__setattr__ registers modules (and None over a module)
        # itself; only other values end up here.
        raise TypeError('data_preprocessor must be an nn.Module, but got '
                        f'{type(value).__name__}')

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, Tensor]:
        """Preprocess ``data``, compute the losses, update the parameters
        through ``optim_wrapper`` and return the detached losses to log."""
        context = optim_wrapper.optim_context(self)
        if context.__class__ is nullcontext:
            # Entering a null context does nothing but cost two Python
            # calls per iteration.
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        else:
            with context:
                data = self.data_preprocessor(data, True)
                losses = self._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed_losses)
        return log_vars

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        """Predictions for ``data``, handed to the evaluator."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode='predict')

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """Predictions for ``data`` (same as :meth:`val_step`)."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode='predict')

    def parse_losses(
        self, losses: Dict[str, Any]
    ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Reduce the raw losses to the tensor to back-propagate and the
        values to log.

        Each entry is reduced by its mean (a list of tensors by the sum of
        their means); the entries whose key contains ``'loss'`` are summed
        into the total. ``log_vars`` starts with ``'loss'`` (the total,
        unless the model returned its own ``'loss'`` entry, which then takes
        that place) followed by every entry, all detached so that logging
        them later keeps no graph alive and forces no device sync now.

        The numbers are mmengine's: a 0-dim floating-point tensor is its own
        mean and ``0 + x`` is ``x``, so those two no-op kernels are skipped.
        """
        if type(losses) is not dict and not isinstance(losses, Mapping):
            raise TypeError(
                f'{type(self).__name__}.forward(mode="loss") must return a '
                f'dict of loss tensors, but returned {type(losses).__name__}')
        # 'loss' first, as mmengine inserts it; a model's own 'loss' entry
        # then overwrites the value in that place. Each logged value is
        # detached once (the usual single loss is both the total and its
        # own entry).
        log_vars = {'loss': None}
        total = None
        for name, value in losses.items():
            if isinstance(value, Tensor):
                if value.ndim == 0 and value.is_floating_point():
                    mean = value
                elif value.is_floating_point() or value.is_complex():
                    mean = value.mean()
                else:
                    raise TypeError(
                        f'{type(self).__name__}.forward(mode="loss") returned '
                        f'{name!r} as a {value.dtype} tensor; losses must be '
                        'floating-point tensors')
            elif isinstance(value, list) and all(
                    isinstance(item, Tensor) for item in value):
                mean = sum(item.mean() for item in value)
            else:
                raise TypeError(
                    f'{type(self).__name__}.forward(mode="loss") must return '
                    'a dict of loss tensors (or lists of tensors), but '
                    f'{name!r} is a {type(value).__name__}')
            if 'loss' in name:
                total = mean if total is None else total + mean
            log_vars[name] = (mean.detach() if isinstance(mean, Tensor)
                              and mean.requires_grad else mean)
        if total is None:
            raise ValueError(
                f'{type(self).__name__}.forward(mode="loss") returned no '
                f'entry whose key contains "loss" (keys: {list(losses)}), so '
                'there is nothing to optimize')
        if log_vars['loss'] is None:
            log_vars['loss'] = (total.detach() if isinstance(total, Tensor)
                                and total.requires_grad else total)
        return total, log_vars

    # One call level less than a method forwarding to run_forward.
    _run_forward = run_forward

    @abstractmethod
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list]:
        """Losses (``'loss'``), predictions (``'predict'``) or raw outputs
        (``'tensor'``) for a preprocessed batch."""

    # --- keep the data preprocessor's device in step with the model --------
    def to(self, *args, **kwargs) -> nn.Module:
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._set_device(torch.device(device))
        return super().to(*args, **kwargs)

    def cuda(self,
             device: Optional[Union[int, str, torch.device]] = None
             ) -> nn.Module:
        if device is None or isinstance(device, int):
            device = torch.device('cuda', index=device)
        self._set_device(torch.device(device))
        return super().cuda(device)

    def cpu(self) -> nn.Module:
        self._set_device(torch.device('cpu'))
        return super().cpu()

    def _set_device(self, device: torch.device) -> None:
        for module in self.modules():
            if isinstance(module, BaseDataPreprocessor):
                module._device = device
