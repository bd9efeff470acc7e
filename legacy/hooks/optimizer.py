"""mmcv's optimizer hooks, updating the parameters through the engine's
OptimWrapper / AmpOptimWrapper.

Each hook configures one wrapper around ``runner.optimizer`` (the real torch
optimizer, which stays what the runner, the lr hooks and the checkpoints
see): ``grad_clip`` becomes ``clip_grad``, ``cumulative_iters`` becomes
``accumulative_counts`` (with the wrapper counting from ``runner.iter`` to
``runner.max_iters``, so the last incomplete group is divided by its real
size, as mmcv does), ``loss_scale`` makes it an ``AmpOptimWrapper``. The
order of operations per iteration is mmcv's. The gradient norm the wrapper
reports is written to the log buffer as mmcv does (``grad_norm``, weighted by
``num_samples``).
"""
import logging
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer

from engine.optim import AmpOptimWrapper, OptimWrapper
from ..errors import MissingOutputError
from ..fp16_utils import wrap_fp16_model
from .hook import HOOKS, Hook
from .loss_watch import LossWatch, check_mode


class _LogBufferSink:
    """Stands in for the wrapper's message hub: the gradient norm it reports
    goes to the runner's log buffer, as mmcv logs it."""

    def __init__(self, runner) -> None:
        self.runner = runner

    def update_scalar(self, key: str, value: Any, count: int = 1) -> None:
        runner = self.runner
        runner.log_buffer.update({key.rpartition('/')[2]: float(value)},
                                 runner.outputs['num_samples'])


@HOOKS.register_module()
class OptimizerHook(Hook):
    """Backward the loss of ``runner.outputs`` and step the optimizer.

    Args:
        grad_clip: ``dict(max_norm=..., norm_type=2)`` clips the gradient
            norm before each step (the norm is logged as ``grad_norm``).
        detect_anomalous_params: log the parameters that did not take part
            in computing the loss (debugging; slow).
        nonfinite_loss: ``'stop'`` (default; not in mmcv) raises
            ``NonFiniteLossError`` naming the first iteration whose loss was
            NaN or infinite, checking lazily; ``'skip'`` skips those updates
            (a device sync per iteration); None trains on, as mmcv does.
            See ``loss_watch.py``.
    """

    nonfinite_loss: Optional[str] = 'stop'
    _loss_watch: Optional[LossWatch] = None

    def __init__(self,
                 grad_clip: Optional[dict] = None,
                 detect_anomalous_params: bool = False,
                 nonfinite_loss: Optional[str] = 'stop') -> None:
        if grad_clip is not None and not isinstance(grad_clip, dict):
            raise TypeError('grad_clip must be None or a dict such as '
                            'dict(max_norm=35, norm_type=2), got '
                            f'{grad_clip!r}')
        self.grad_clip = grad_clip
        self.detect_anomalous_params = detect_anomalous_params
        self.nonfinite_loss = check_mode(nonfinite_loss)
        self.optim_wrapper: Optional[OptimWrapper] = None

    # -- the non-finite loss guard -----------------------------------------
    def _accept_loss(self, runner, loss: torch.Tensor) -> bool:
        """Record (``'stop'``) or check (``'skip'``) this iteration's loss;
        False when its update must be skipped."""
        if self.nonfinite_loss == 'stop':
            if self._loss_watch is None:
                self._loss_watch = LossWatch()
            self._loss_watch.add(runner, loss)
        elif self.nonfinite_loss == 'skip':
            return LossWatch.finite_or_report(runner, loss)
        return True

    def before_save_checkpoint(self, runner) -> None:
        """Never save weights trained on a non-finite loss."""
        if self._loss_watch is not None:
            self._loss_watch.check()

    # -- the engine wrapper ------------------------------------------------
    def _wrapper_kwargs(self) -> dict:
        return dict(clip_grad=None if self.grad_clip is None else dict(
            self.grad_clip))

    def _build_wrapper(self, optimizer: Optimizer) -> OptimWrapper:
        return OptimWrapper(optimizer, **self._wrapper_kwargs())

    def get_optim_wrapper(self, runner) -> OptimWrapper:
        """The wrapper around ``runner.optimizer`` (built on first use, and
        again if the runner's optimizer is replaced)."""
        wrapper = self.optim_wrapper
        if wrapper is None or wrapper.optimizer is not runner.optimizer:
            optimizer = runner.optimizer
            if not isinstance(optimizer, Optimizer):
                raise TypeError(
                    f'{type(self).__name__} updates one optimizer, but the '
                    f'runner has {type(optimizer).__name__}; with a dict of '
                    'optimizers, step them in train_step and set '
                    'optimizer_config=None')
            wrapper = self._build_wrapper(optimizer)
            wrapper.message_hub = _LogBufferSink(runner)
            wrapper.skip_nonfinite_loss = self.nonfinite_loss == 'skip'
            self.optim_wrapper = wrapper
        return wrapper

    @staticmethod
    def get_loss(runner) -> torch.Tensor:
        """``runner.outputs['loss']``, with a clear error when missing."""
        outputs = runner.outputs
        try:
            loss = outputs['loss']
        except KeyError:
            raise MissingOutputError(
                f'the optimizer hook needs the loss, but '
                f'{runner.model_name}.train_step() returned a dict without '
                f'"loss" (keys: {sorted(outputs)}). Return the loss, or set '
                'optimizer_config=None if train_step updates the parameters '
                'itself.') from None
        if not isinstance(loss, torch.Tensor):
            raise TypeError(
                f'outputs["loss"] of {runner.model_name}.train_step() must '
                f'be a tensor to backpropagate, got {type(loss).__name__}')
        return loss

    def clip_grads(self, params):
        """Clip the gradient norm of ``params`` with ``grad_clip`` (mmcv's
        helper, for subclasses; the hook itself clips in the wrapper)."""
        params = [p for p in params if p.requires_grad and p.grad is not None]
        if params:
            return nn.utils.clip_grad_norm_(params, **self.grad_clip)

    def after_train_iter(self, runner) -> None:
        loss = self.get_loss(runner)
        if not self._accept_loss(runner, loss):
            return
        wrapper = self.get_optim_wrapper(runner)
        wrapper.zero_grad()
        if self.detect_anomalous_params:
            self.detect_anomalous_parameters(loss, runner)
        wrapper.backward(loss)
        wrapper.step()

    def detect_anomalous_parameters(self, loss: torch.Tensor, runner) -> None:
        """Log (as errors) the trainable parameters the loss does not depend
        on."""
        in_graph = set()
        visited = set()
        stack = [loss.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or fn in visited:
                continue
            visited.add(fn)
            variable = getattr(fn, 'variable', None)
            if variable is not None:
                in_graph.add(variable)
            stack.extend(parent for parent, _ in fn.next_functions)
        for name, param in runner.model.named_parameters():
            if param.requires_grad and param not in in_graph:
                runner.logger.log(
                    level=logging.ERROR,
                    msg=f'{name} with shape {param.size()} is not in the '
                    'computational graph \n')


@HOOKS.register_module()
class GradientCumulativeOptimizerHook(OptimizerHook):
    """Accumulate gradients over ``cumulative_iters`` iterations per step
    (a larger effective batch). The loss is divided by ``cumulative_iters``,
    or by the real size of the last incomplete group of the run."""

    def __init__(self, cumulative_iters: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if (not isinstance(cumulative_iters, int)
                or isinstance(cumulative_iters, bool)
                or cumulative_iters <= 0):
            raise ValueError('cumulative_iters only accepts a positive int, '
                             f'but got {cumulative_iters!r}')
        self.cumulative_iters = cumulative_iters
        self.divisible_iters = 0
        self.remainder_iters = 0
        self.initialized = False
        self._ddp_modules: list = []

    def _wrapper_kwargs(self) -> dict:
        return dict(
            super()._wrapper_kwargs(),
            accumulative_counts=self.cumulative_iters)

    def before_run(self, runner) -> None:
        self._ddp_modules = [
            m for m in runner.model.modules()
            if isinstance(m, DistributedDataParallel)
        ]

    def before_train_iter(self, runner) -> None:
        """Under DDP, all-reduce the gradients of updating iterations only
        (the forward in ``train_step`` decides, so it is set here). mmcv
        all-reduced every iteration; the sum of the averages is the average
        of the sums, so only the number of all-reduces changes."""
        if self._ddp_modules:
            sync = (self.every_n_iters(runner, self.cumulative_iters)
                    or self.is_last_iter(runner))
            for module in self._ddp_modules:
                module.require_backward_grad_sync = sync

    def after_run(self, runner) -> None:
        for module in self._ddp_modules:
            module.require_backward_grad_sync = True

    def has_batch_norm(self, module: nn.Module) -> bool:
        return any(isinstance(m, _BatchNorm) for m in module.modules())

    def _init(self, runner) -> None:
        if runner.iter % self.cumulative_iters != 0:
            runner.logger.warning(
                'Resume iter number is not divisible by cumulative_iters in '
                'GradientCumulativeOptimizerHook, which means the gradient of '
                'some iters is lost and the result may be influenced slightly.'
            )
        if self.has_batch_norm(runner.model) and self.cumulative_iters > 1:
            runner.logger.warning(
                'GradientCumulativeOptimizerHook may slightly decrease '
                'performance if the model has BatchNorm layers.')
        self.divisible_iters = (
            runner.max_iters // self.cumulative_iters * self.cumulative_iters)
        self.remainder_iters = runner.max_iters - self.divisible_iters
        # the warnings above are mmcv's; the wrapper's own stay silent
        self.get_optim_wrapper(runner).initialize_count_status(
            runner.model, runner.iter, runner.max_iters, logger='silent')
        self.initialized = True

    def _get_loss_factor(self, runner) -> int:
        """What the loss of this iteration is divided by (the wrapper does
        the division; this reports it as mmcv does)."""
        if runner.iter < runner.max_iters - self.remainder_iters:
            return self.cumulative_iters
        runner.logger.warning(
            f'Loss will be divided by {self.remainder_iters} in the last '
            f'{self.remainder_iters} iterations because they are not '
            f'enough for {self.cumulative_iters} cumulative_iters.')
        return self.remainder_iters

    def after_train_iter(self, runner) -> None:
        if not self.initialized:
            self._init(runner)
        loss = self.get_loss(runner)
        self._accept_loss(runner, loss)  # in skip mode the wrapper skips
        if runner.iter >= self.divisible_iters:
            self._get_loss_factor(runner)
        self.get_optim_wrapper(runner).update_params(loss)


class _Fp16Mixin:
    """Mixed precision: wraps the model for ``auto_fp16``/``force_fp32``,
    scales the loss with an ``AmpOptimWrapper`` and keeps the scaler state in
    ``runner.meta['fp16']['loss_scaler']`` (written when a checkpoint is
    saved and at the end of the run, and read back in ``before_run``)."""

    def _init_fp16(self, loss_scale, dtype) -> None:
        if not (loss_scale == 'dynamic' or isinstance(loss_scale, dict) or
                (isinstance(loss_scale, (int, float))
                 and not isinstance(loss_scale, bool))):
            raise ValueError('loss_scale must be of type float, dict, or '
                             f'"dynamic", got {loss_scale!r}')
        self.loss_scale = loss_scale
        self.dtype = dtype

    def _wrapper_kwargs(self) -> dict:
        return dict(super()._wrapper_kwargs(), loss_scale=self.loss_scale)

    def _build_wrapper(self, optimizer: Optimizer) -> OptimWrapper:
        wrapper = AmpOptimWrapper(optimizer=optimizer,
                                  **self._wrapper_kwargs())
        state = getattr(self, '_pending_scaler_state', None)
        if state is not None:
            wrapper.loss_scaler.load_state_dict(state)
            self._pending_scaler_state = None
        return wrapper

    @property
    def loss_scaler(self):
        """The ``torch.amp.GradScaler`` (available once training started)."""
        return None if self.optim_wrapper is None else \
            self.optim_wrapper.loss_scaler

    def before_run(self, runner) -> None:
        super().before_run(runner)
        wrap_fp16_model(runner.model, self.dtype)
        if runner.meta is None:
            runner.meta = {}
        state = runner.meta.get('fp16', {}).get('loss_scaler')
        if state is not None:
            self._pending_scaler_state = state
            if self.optim_wrapper is not None:
                self.optim_wrapper.loss_scaler.load_state_dict(state)
                self._pending_scaler_state = None

    _reported_skips = 0

    def _accept_loss(self, runner, loss: torch.Tensor) -> bool:
        if (runner.iter + 1) % 10 == 0:
            self._report_skipped_steps(runner)
        return super()._accept_loss(runner, loss)

    def _report_skipped_steps(self, runner) -> None:
        """Log the steps the loss scaler skipped since the last report
        (mmcv says nothing; reading the count is a host sync, so it is done
        every 10 iterations and at the end)."""
        if self.optim_wrapper is None:
            return
        total = self.optim_wrapper.skipped_steps
        if total > self._reported_skips:
            runner.logger.info(
                f'Loss scaling skipped {total - self._reported_skips} '
                f'optimizer step(s) with inf/NaN gradients ({total} in all); '
                f'the loss scale is now {self.optim_wrapper.loss_scale}.')
            self._reported_skips = total

    def before_save_checkpoint(self, runner) -> None:
        super().before_save_checkpoint(runner)
        if self.optim_wrapper is not None:
            runner.meta.setdefault(
                'fp16', {})['loss_scaler'] = self.loss_scaler.state_dict()

    def after_run(self, runner) -> None:
        super().after_run(runner)
        self._report_skipped_steps(runner)
        self.before_save_checkpoint(runner)


@HOOKS.register_module()
class Fp16OptimizerHook(_Fp16Mixin, OptimizerHook):
    """Mixed-precision training with loss scaling (torch.amp), on CUDA or
    the CPU.

    Args:
        grad_clip: as in :class:`OptimizerHook` (applied to unscaled
            gradients).
        coalesce, bucket_size_mb, distributed: kept for compatibility;
            gradients are synchronised by the DDP wrapper.
        loss_scale: a number (static scale, 512 by default), 'dynamic', or a
            dict of ``GradScaler`` arguments.
        dtype: the autocast dtype of ``auto_fp16`` methods: float16
            (default, as mmcv) or bfloat16.
        nonfinite_loss: as in :class:`OptimizerHook` (a non-finite loss is
            not an overflow of the scaled gradients, which only skips the
            step and lowers the scale).
    """

    def __init__(self,
                 grad_clip: Optional[dict] = None,
                 coalesce: bool = True,
                 bucket_size_mb: int = -1,
                 loss_scale: Union[float, str, dict] = 512.,
                 distributed: bool = True,
                 dtype: Union[str, torch.dtype, None] = None,
                 nonfinite_loss: Optional[str] = 'stop') -> None:
        super().__init__(grad_clip=grad_clip, nonfinite_loss=nonfinite_loss)
        self.coalesce = coalesce
        self.bucket_size_mb = bucket_size_mb
        self.distributed = distributed
        self._init_fp16(loss_scale, dtype)

    def after_train_iter(self, runner) -> None:
        loss = self.get_loss(runner)
        if not self._accept_loss(runner, loss):
            return
        wrapper = self.get_optim_wrapper(runner)
        runner.model.zero_grad()
        wrapper.zero_grad()
        wrapper.backward(loss)
        wrapper.step()


@HOOKS.register_module()
class GradientCumulativeFp16OptimizerHook(_Fp16Mixin,
                                          GradientCumulativeOptimizerHook):
    """:class:`GradientCumulativeOptimizerHook` with the mixed precision of
    :class:`Fp16OptimizerHook` (same arguments as both)."""

    def __init__(self,
                 cumulative_iters: int = 1,
                 grad_clip: Optional[dict] = None,
                 coalesce: bool = True,
                 bucket_size_mb: int = -1,
                 loss_scale: Union[float, str, dict] = 512.,
                 distributed: bool = True,
                 dtype: Union[str, torch.dtype, None] = None,
                 **kwargs) -> None:
        super().__init__(
            cumulative_iters=cumulative_iters, grad_clip=grad_clip, **kwargs)
        self.coalesce = coalesce
        self.bucket_size_mb = bucket_size_mb
        self.distributed = distributed
        self._init_fp16(loss_scale, dtype)

    def after_train_iter(self, runner) -> None:
        super().after_train_iter(runner)
        if self.optim_wrapper.should_update():
            # the wrapper zeroed the optimizer's gradients after its step;
            # mmcv also clears those of the model.
            runner.model.zero_grad()
