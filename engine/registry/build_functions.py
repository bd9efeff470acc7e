"""Turning ``dict(type=..., **kwargs)`` into objects.

Registries delegate ``build`` to one of these functions; models, schedulers
and runners need small variations of the generic one.
"""
import inspect
from typing import Any, Optional

from ..config import Config
from ..utils import ManagerMixin
from .registry import Registry


class MissingTypeError(KeyError, TypeError):
    """A config without ``type``: a KeyError as in mmengine, and a TypeError
    because the config is not a valid build spec."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _as_args(cfg: Any, what: str) -> dict:
    """Shallow copy of a dict/Config as plain keyword arguments."""
    if isinstance(cfg, Config):
        return dict(cfg.items())
    if isinstance(cfg, dict):
        return dict(cfg)
    raise TypeError(
        f'{what} must be a dict, ConfigDict or Config, got '
        f'{type(cfg).__name__}: {cfg!r}')


def _merged_args(cfg: Any, default_args: Any) -> dict:
    args = _as_args(cfg, 'cfg')
    if default_args is not None:
        for key, value in _as_args(default_args, 'default_args').items():
            args.setdefault(key, value)
    return args


def _resolve_registry(registry: Registry, args: dict) -> Registry:
    """Honour a ``_scope_`` key by switching to that scope's registry node."""
    if not isinstance(registry, Registry):
        raise TypeError(
            f'registry must be an engine Registry, got '
            f'{type(registry).__name__}')
    scope = args.pop('_scope_', None)
    if scope is None:
        return registry
    node = registry.root._search_child(scope)
    if node is None:
        raise KeyError(
            f'_scope_={scope!r}: no registry with that scope under the '
            f'{registry.root.name!r} registry tree')
    return node


def _resolve_type(obj_type: Any, registry: Registry) -> Any:
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise registry.unknown_key_error(obj_type)
        return obj_cls
    if callable(obj_type):
        return obj_type
    raise TypeError(
        f'type must be a registered name or a class/function, got '
        f'{type(obj_type).__name__}: {obj_type!r}')


def build_from_cfg(cfg: Any,
                   registry: Registry,
                   default_args: Optional[Any] = None) -> Any:
    """Build an object from ``cfg['type']`` and the remaining keys.

    ``cfg`` wins over ``default_args`` for keys present in both. ``type`` is
    a registered name (``'scope.Name'`` allowed) or a class/function.
    Classes with named global instances (MessageHub, MMLogger, ...) are
    fetched with ``get_instance`` so that building twice yields one object.
    """
    args = _merged_args(cfg, default_args)
    if 'type' not in args:
        raise MissingTypeError(
            f'cfg or default_args must contain the key "type" naming what '
            f'to build, got cfg={cfg!r} default_args={default_args!r}')
    registry = _resolve_registry(registry, args)
    obj_cls = _resolve_type(args.pop('type'), registry)
    if inspect.isclass(obj_cls) and issubclass(obj_cls, ManagerMixin):
        return obj_cls.get_instance(**args)
    try:
        return obj_cls(**args)
    except TypeError as exc:
        name = getattr(obj_cls, '__qualname__', repr(obj_cls))
        raise TypeError(
            f'building {name} from the {registry.name!r} registry with '
            f'arguments {sorted(args)} failed: {exc}') from exc


def build_model_from_cfg(cfg: Any,
                         registry: Registry,
                         default_args: Optional[Any] = None) -> Any:
    """Like :func:`build_from_cfg`; a list of configs builds a Sequential."""
    if isinstance(cfg, list):
        from ..model import Sequential
        return Sequential(
            *(build_from_cfg(c, registry, default_args) for c in cfg))
    return build_from_cfg(cfg, registry, default_args)


def build_scheduler_from_cfg(cfg: Any,
                             registry: Registry,
                             default_args: Optional[Any] = None) -> Any:
    """Build a parameter scheduler, converting epochs to iterations on request.

    ``convert_to_iter_based=True`` builds through the scheduler class's
    ``build_iter_from_epoch`` classmethod, which needs ``epoch_length``
    (given by the runner in ``default_args``); otherwise ``epoch_length`` is
    dropped and the class is built directly.
    """
    args = _merged_args(cfg, default_args)
    registry = _resolve_registry(registry, args)
    if not args.pop('convert_to_iter_based', False):
        args.pop('epoch_length', None)
        return build_from_cfg(args, registry)
    if 'type' not in args:
        raise MissingTypeError(
            f'scheduler config must contain "type", got {cfg!r}')
    if 'epoch_length' not in args:
        raise KeyError(
            f'convert_to_iter_based=True needs epoch_length (the number of '
            f'iterations per epoch) in the scheduler arguments, got {cfg!r}')
    if not args.get('by_epoch', True):
        raise ValueError(
            f'only an epoch-based scheduler (by_epoch=True) can be converted '
            f'to iteration-based, got {cfg!r}')
    scheduler_cls = _resolve_type(args.pop('type'), registry)
    return scheduler_cls.build_iter_from_epoch(**args)


def build_runner_from_cfg(cfg: Any, registry: Registry) -> Any:
    """Build a runner through its ``from_cfg``; ``runner_type`` picks the
    class (default ``'Runner'``)."""
    args = _as_args(cfg, 'cfg')
    registry = _resolve_registry(registry, args)
    runner_cls = _resolve_type(args.get('runner_type', 'Runner'), registry)
    return runner_cls.from_cfg(cfg if isinstance(cfg, Config) else
                               Config(args))
