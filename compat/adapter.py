"""``compat.adapt``: run an MMCV-style model on the engine, untouched.

A legacy model's ``train_step(data, optimizer)`` returns
``dict(loss=..., log_vars=..., num_samples=...)`` and leaves the update to
the runner's OptimizerHook; the engine calls ``train_step(data,
optim_wrapper)`` and expects the model to update itself. ``adapt`` bridges
the two without wrapping the model in another module: it gives the model's
own object a class that puts :class:`LegacyModelAdapter` in front of the
model's class and ``engine.model.BaseModel`` behind it. So

- the parameter names, and therefore checkpoints, are exactly the legacy
  ones (no ``module.`` prefix), and legacy checkpoints load as they are;
- the model's sub-modules stay its direct children, which is what
  ``MMSeparateDistributedDataParallel`` wraps one by one for GANs;
- every method of the model (and of its legacy base classes) still wins
  over BaseModel's, except the engine entry points of
  :class:`LegacyModelAdapter` (and ``init_weights``, which the engine runner
  calls at the start of training but the legacy runner never did, so it is
  skipped).

The adapted model keeps the legacy loss semantics (the returned ``loss`` is
back-propagated as is, never re-reduced by ``parse_losses``) and logs
``log_vars`` weighted by ``num_samples`` exactly as mmcv's LogBuffer
averages them: ``train_step`` returns the ``log_vars`` as a
:class:`LegacyLogVars` whose ``sample_count`` makes the message hub record
``value * num_samples`` with count ``num_samples``, so its windowed mean,
``sum(v*n) / sum(n)``, is the same float mmcv computed.
"""
import contextlib
import inspect
import logging
import operator
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from engine.logging import print_log, weighted_value
from engine.model import BaseDataPreprocessor, BaseModel, is_model_wrapper
from engine.optim import OptimWrapper, OptimWrapperDict
from .optimizer_proxy import make_optimizer_proxy

__all__ = [
    'adapt', 'is_adapted', 'LegacyModelAdapter', 'LegacyLogVars', 'per_sample'
]

_ENGINE_MODES = frozenset(('loss', 'predict', 'tensor'))
_NO_CONTEXT = contextlib.nullcontext()


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + '...'


class LegacyLogVars(dict):
    """The ``log_vars`` a legacy ``train_step`` returned, as values, plus
    :attr:`sample_count` (its ``num_samples``): the engine's RuntimeInfoHook
    then records ``value * count`` with count ``count``, so the logged
    averages are mmcv's LogBuffer's weighted ones.
    :attr:`weighted_scalars` gives those pairs."""

    __slots__ = ('sample_count', )

    def __init__(self, log_vars: dict, count: int):
        super().__init__(log_vars)
        self.sample_count = count

    @property
    def weighted_scalars(self) -> dict:
        """``{name: (value * num_samples, num_samples)}``."""
        count = self.sample_count
        return {name: (weighted_value(value, count), count)
                for name, value in self.items()}


def per_sample(outputs: Any) -> list:
    """Split a legacy ``val_step``/``test_step`` output into the per-sample
    list the engine's evaluator expects.

    - a list/tuple is taken as per-sample already;
    - a tensor is split along its first dimension;
    - a dict becomes one dict per sample: entries with the batch size as
      their first dimension (or length) are sliced, the others (losses,
      ``log_vars``, ``num_samples``) are shared by every sample of the batch
      (the same objects, which lets a metric count each batch once);
    - anything else is one result.
    """
    if isinstance(outputs, list):
        return outputs
    if isinstance(outputs, tuple):
        return list(outputs)
    if isinstance(outputs, torch.Tensor):
        return list(outputs.unbind(0)) if outputs.dim() else [outputs]
    if not isinstance(outputs, dict):
        return [outputs]
    size = outputs.get('num_samples')
    if not isinstance(size, int):
        size = next((v.shape[0] for v in outputs.values()
                     if isinstance(v, torch.Tensor) and v.dim()), 1)

    def batched(v: Any) -> bool:
        if isinstance(v, torch.Tensor):
            return v.dim() > 0 and v.shape[0] == size
        return isinstance(v, (list, tuple)) and len(v) == size

    sliced = {k for k, v in outputs.items() if batched(v)}
    if not sliced:
        return [outputs] * size
    return [{
        k: (v[i] if k in sliced else v)
        for k, v in outputs.items()
    } for i in range(size)]


def _positional_count(func: Any) -> int:
    """How many positional arguments ``func`` takes after ``self``
    (a large number for ``*args``)."""
    try:
        params = list(inspect.signature(func).parameters.values())[1:]
    except (TypeError, ValueError):
        return 99
    count = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return 99
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class LegacyModelAdapter:
    """The engine entry points of an adapted legacy model.

    This is a mix-in: :func:`adapt` builds ``Adapted<Name>(LegacyModelAdapter,
    <the model's class>, BaseModel)`` and switches the model to it. The
    attributes it adds all start with ``_compat_``.
    """

    # Set per adapted class by _adapted_class().
    _compat_legacy_cls: type
    _compat_forward_takes_mode: bool
    _compat_val_takes_optimizer: bool

    # ------------------------------------------------------------- training
    def train_step(self, data: Any, optim_wrapper: Any = None, **kwargs):
        """Engine call (``optim_wrapper`` is an OptimWrapper): run the legacy
        ``train_step`` with an optimizer proxy, update through the wrapper
        (unless the model stepped itself) and log ``log_vars``.

        Legacy call (a torch optimizer, a dict of them or None): the
        model's own ``train_step``, unchanged, so the adapted model still
        runs on a legacy runner.
        """
        legacy_step = self._compat_legacy_cls.train_step
        # OptimWrapper derives from an ABC, whose isinstance is slow: the
        # usual exact type is recognized first.
        if optim_wrapper.__class__ is OptimWrapper:
            several = False
        elif isinstance(optim_wrapper, OptimWrapper):
            several = isinstance(optim_wrapper, OptimWrapperDict)
        else:
            return legacy_step(self, data, optim_wrapper, **kwargs)
        proxy = self._compat_proxy(optim_wrapper)
        steps_before = proxy.steps
        context = _NO_CONTEXT if several else optim_wrapper.optim_context(
            self)
        if context.__class__ is contextlib.nullcontext:
            # nothing to enter: spare the two calls of a `with`
            data = self.data_preprocessor(data, True)
            outputs = legacy_step(self, data, proxy, **kwargs)
        else:
            with context:
                data = self.data_preprocessor(data, True)
                outputs = legacy_step(self, data, proxy, **kwargs)
        if outputs.__class__ is not dict:
            self._compat_check_outputs(outputs, 'train_step')
        # a plain attribute: nn.Module.__setattr__ would check the value
        # against parameters, buffers and modules on every iteration
        self.__dict__['_compat_last_outputs'] = outputs
        if not self._compat_update_params:
            return outputs
        if proxy.steps == steps_before:
            loss = outputs.get('loss')
            # the usual scalar loss passes without the checks' calls
            if loss.__class__ is not torch.Tensor or loss.ndim != 0:
                loss = self._compat_loss(outputs, 'train_step')
            if several:
                raise TypeError(
                    f'{self._compat_name()}.train_step returned a loss without '
                    'stepping its optimizers, but the run has several '
                    f'optimizers ({list(optim_wrapper.keys())}): a model with '
                    'several optimizers must update each itself, as with '
                    'mmcv\'s optimizer_config=None')
            optim_wrapper.update_params(loss)
        return self._compat_log_vars(outputs)

    # The data-parallel wrapper's path: forward(mode='loss') through DDP,
    # then parse_losses, then optim_wrapper.update_params.
    def forward(self, *args, **kwargs):
        mode = kwargs.get('mode')
        if mode not in _ENGINE_MODES or self._compat_forward_takes_mode:
            return self._compat_legacy_cls.forward(self, *args, **kwargs)
        kwargs.pop('mode')
        if args and kwargs:
            raise TypeError(
                f'{self._compat_name()}: an adapted model is called with the '
                'batch as positional arguments or as keyword arguments, not '
                'both')
        data = kwargs if kwargs else list(args)
        if mode == 'tensor':
            return self._compat_legacy_cls.forward(self, *args, **kwargs)
        if mode == 'predict':  # the caller has preprocessed the batch
            return per_sample(
                self._compat_val_outputs(data, 'val_step', preprocess=False))
        outputs = self._compat_legacy_cls.train_step(self, data, None)
        self._compat_check_outputs(outputs, 'train_step')
        self._compat_last_outputs = outputs
        self._compat_pending = outputs
        return outputs

    def parse_losses(self, losses: Any):
        """For the output of ``forward(mode='loss')``: the legacy ``loss``
        as is (and ``log_vars`` logged); anything else goes to the model's
        own (or BaseModel's) ``parse_losses``."""
        if losses is not None and losses is self.__dict__.get(
                '_compat_pending'):
            self._compat_pending = None
            loss = self._compat_loss(losses, 'train_step')
            return loss, self._compat_log_vars(losses)
        return super().parse_losses(losses)

    # ----------------------------------------------------------- evaluation
    def val_step(self, data: Any, *args, **kwargs):
        """Engine call: the legacy ``val_step`` output as a per-sample list.
        With extra arguments (a legacy runner passing its optimizer), the
        model's own ``val_step``."""
        if args or kwargs:
            return self._compat_legacy_cls.val_step(self, data, *args,
                                                    **kwargs)
        return per_sample(self._compat_val_outputs(data, 'val_step'))

    def test_step(self, data: Any, *args, **kwargs):
        """The legacy ``test_step`` if the model has one, else ``val_step``,
        as a per-sample list."""
        name = 'test_step' if hasattr(self._compat_legacy_cls,
                                      'test_step') else 'val_step'
        if args or kwargs:
            return getattr(self._compat_legacy_cls, name)(self, data, *args,
                                                          **kwargs)
        return per_sample(self._compat_val_outputs(data, name))

    def init_weights(self) -> None:
        """Skipped: the engine runner calls ``init_weights`` when training
        starts, but the legacy runner never did (the training script
        initialized the model before building it), and a second, random
        initialization would change the numbers. Initialize before
        :func:`adapt`, or call ``type(model)._compat_legacy_cls.init_weights
        (model)`` explicitly."""
        print_log(
            f'{self._compat_name()} is an adapted legacy model: '
            'init_weights() is skipped, as the legacy runner never called it '
            '(initialize the model before compat.adapt)',
            logger='current',
            level=logging.DEBUG)

    # -------------------------------------------------------------- helpers
    def _compat_name(self) -> str:
        return self._compat_legacy_cls.__name__

    def _compat_proxy(self, optim_wrapper: Any) -> Any:
        cached = self.__dict__.get('_compat_proxy_cache')
        if cached is None or cached[0] is not optim_wrapper:
            cached = (optim_wrapper,
                      make_optimizer_proxy(optim_wrapper, self._compat_name()))
            self._compat_proxy_cache = cached
        return cached[1]

    def _compat_val_outputs(self, data: Any, method: str,
                            preprocess: bool = True) -> Any:
        if preprocess:
            data = self.data_preprocessor(data, False)
        func = getattr(self._compat_legacy_cls, method, None)
        if func is None:
            raise AttributeError(
                f'{self._compat_name()} has no {method}(data), so the engine '
                'cannot validate or test it; give the model a val_step as '
                'mmcv\'s val workflow needed')
        if method == 'val_step' and self._compat_val_takes_optimizer:
            cached = self.__dict__.get('_compat_proxy_cache')
            # mmcv's EpochBasedRunner passed its optimizer to val_step too
            outputs = func(self, data, cached[1] if cached else None)
        else:
            outputs = func(self, data)
        self._compat_last_outputs = outputs
        return outputs

    def _compat_check_outputs(self, outputs: Any, method: str) -> None:
        if not isinstance(outputs, dict):
            raise TypeError(
                f'{self._compat_name()}.{method} must return a dict such as '
                'dict(loss=..., log_vars=..., num_samples=...), but returned '
                f'a {type(outputs).__name__}: {_describe(outputs)}')

    def _compat_loss(self, outputs: dict, method: str) -> torch.Tensor:
        if 'loss' not in outputs:
            raise KeyError(
                f'{self._compat_name()}.{method} returned no "loss" (keys: '
                f'{list(outputs)}) and did not step its optimizer, so there '
                'is nothing to update the parameters with. Return '
                'dict(loss=..., log_vars=..., num_samples=...), or call '
                'optimizer.step() in train_step for a self-optimizing model')
        loss = outputs['loss']
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            what = (f'a tensor of shape {tuple(loss.shape)}' if isinstance(
                loss, torch.Tensor) else f'a {type(loss).__name__}: '
                    f'{_describe(loss)}')
            raise ValueError(
                f'{self._compat_name()}.{method} returned "loss" as {what}; '
                'it must be a scalar tensor (reduce it in the model, as the '
                'legacy runner back-propagated it as is)')
        return loss

    def _compat_log_vars(self, outputs: dict) -> LegacyLogVars:
        """``log_vars`` with their weights (see :class:`LegacyLogVars`)."""
        log_vars = outputs.get('log_vars')
        if not log_vars:
            return LegacyLogVars({}, 1)
        if not isinstance(log_vars, dict):
            raise TypeError(
                f'{self._compat_name()}.train_step returned log_vars as a '
                f'{type(log_vars).__name__}; it must be a dict of numbers')
        if 'num_samples' not in outputs:
            raise KeyError(
                f'{self._compat_name()}.train_step returned log_vars but no '
                '"num_samples"; the legacy runner needed it to weight the '
                'logged averages')
        try:
            count = operator.index(outputs['num_samples'])
        except TypeError:
            raise TypeError(
                f'{self._compat_name()}.train_step returned num_samples='
                f'{_describe(outputs["num_samples"])}; it must be an int'
            ) from None
        return LegacyLogVars(log_vars, count)

    def __reduce_ex__(self, protocol: int):
        # The adapted class is made at run time; rebuild it from the legacy
        # class so that deepcopy (EMA) and pickling work.
        state = {
            k: v
            for k, v in self.__getstate__().items() if k not in _TRANSIENT
        }
        return (_new_adapted, (self._compat_legacy_cls, ), state)


# Per-run references (the optimizer wrapper, the last batch's outputs) that a
# copy of the model must not drag along: an EMA copy would otherwise
# deep-copy the whole optimizer.
_TRANSIENT = frozenset(
    ('_compat_proxy_cache', '_compat_last_outputs', '_compat_pending'))


def _new_adapted(legacy_cls: type) -> nn.Module:
    model = object.__new__(_adapted_class(legacy_cls))
    model.__dict__.update(_compat_last_outputs=None, _compat_pending=None)
    return model


_ADAPTED_CLASSES: Dict[type, type] = {}


def _takes_mode(forward: Any) -> bool:
    try:
        return 'mode' in inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return False


def _adapted_class(cls: type) -> type:
    adapted = _ADAPTED_CLASSES.get(cls)
    if adapted is None:
        adapted = type(
            f'Adapted{cls.__name__}', (LegacyModelAdapter, cls, BaseModel), {
                '__module__': cls.__module__,
                '__qualname__': f'Adapted{cls.__qualname__}',
                '_compat_legacy_cls': cls,
                '_compat_forward_takes_mode': _takes_mode(cls.forward),
                '_compat_val_takes_optimizer': _positional_count(
                    getattr(cls, 'val_step', None)) >= 2,
            })
        _ADAPTED_CLASSES[cls] = adapted
    return adapted


def is_adapted(model: Any) -> bool:
    """Whether ``model`` (or the model inside a wrapper) went through
    :func:`adapt`."""
    while is_model_wrapper(model) or isinstance(
            model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return isinstance(model, LegacyModelAdapter)


def adapt(model: nn.Module,
          update_params: bool = True,
          data_preprocessor: Optional[nn.Module] = None) -> nn.Module:
    """Make a legacy (MMCV-style) model trainable by ``engine.runner.Runner``.

    The model object itself is adapted (its class gains the engine entry
    points, see the module docstring) and returned; a model inside a
    data-parallel wrapper (legacy or engine) is adapted in place and the
    wrapper returned. Adapting twice is a no-op.

    Args:
        model: an ``nn.Module`` whose ``train_step(data, optimizer)`` returns
            ``dict(loss=..., log_vars=..., num_samples=...)``.
        update_params: True (default): ``train_step(data, optim_wrapper)``
            updates the parameters with the returned ``loss`` (unless the
            model stepped its optimizer itself) and returns the
            ``log_vars`` (a :class:`LegacyLogVars`, logged weighted by
            ``num_samples``). False: it returns the legacy output dict
            untouched, leaving the update and the logging to the caller
            (``legacy``'s OptimizerHook family uses this, so a user's
            overriding OptimizerHook keeps running).
        data_preprocessor: moves each batch to the model's device before
            ``train_step``; a ``BaseDataPreprocessor`` by default.

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` with a ``train_step``, or
            is already a native engine model.
    """
    if not isinstance(update_params, bool):
        raise TypeError('adapt(update_params=...) must be a bool, got '
                        f'{type(update_params).__name__}')
    if is_model_wrapper(model) or isinstance(
            model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        adapt(model.module, update_params, data_preprocessor)
        return model
    if not isinstance(model, nn.Module):
        raise TypeError('adapt() expects a legacy model (an nn.Module with '
                        f'train_step), got a {type(model).__name__}')
    if isinstance(model, LegacyModelAdapter):
        model._compat_update_params = update_params
        return model
    if isinstance(model, BaseModel):
        raise TypeError(
            f'{type(model).__name__} is already an engine BaseModel; pass it '
            'to the Runner directly instead of through compat.adapt')
    if not callable(getattr(model, 'train_step', None)):
        raise TypeError(
            f'{type(model).__name__} has no train_step(data, optimizer), so '
            'it is not a legacy (MMCV-style) model that adapt() can run')
    if data_preprocessor is None:
        data_preprocessor = BaseDataPreprocessor()
    elif not isinstance(data_preprocessor, nn.Module):
        raise TypeError('adapt(data_preprocessor=...) must be an nn.Module, '
                        f'got {type(data_preprocessor).__name__}')
    device = next((p.device for p in model.parameters()), None)
    model.__class__ = _adapted_class(type(model))
    model._compat_update_params = update_params
    model._compat_last_outputs = None
    model._compat_pending = None
    # BaseModule's attribute its __init__ would have set
    if not hasattr(model, 'init_cfg'):
        model.init_cfg = None
    model.data_preprocessor = data_preprocessor
    if device is not None:
        data_preprocessor.to(device)
    return model
