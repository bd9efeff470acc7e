"""Name -> class tables that let configs say ``dict(type='SGD', lr=0.1)``.

Registries form a tree: a downstream project creates a child registry with
its own scope (``Registry('model', parent=MODELS, scope='mydet')``); lookups
fall back from a child to its parents, and ``'scope.Name'`` addresses a
specific node. A root registry knows which engine modules fill it
(``locations``) and imports them on the first lookup miss, so importing
``engine.registry`` stays cheap and free of import cycles.
"""
import difflib
import importlib
import sys
from typing import (Any, Callable, Dict, Iterable, List, Optional, Tuple,
                    Union)


class RegistryError(KeyError):
    """A KeyError whose message prints as written (KeyError quotes it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _import_dotted(path: str) -> Optional[Any]:
    """Resolve ``'package.module.Name'`` to the object, or None.

    Only a missing module or attribute yields None; an error raised while
    executing a module that does exist is a real bug and propagates.
    """
    module_name, _, attr = path.rpartition('.')
    while module_name:
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            module_name, _, head = module_name.rpartition('.')
            attr = f'{head}.{attr}'
            continue
        for part in attr.split('.'):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return None


class Registry:
    """A table of named classes or functions that configs can build.

    Args:
        name: what is registered here ('model', 'optimizer', ...); used in
            error messages.
        build_func: how ``build`` turns a config into an object; defaults to
            the parent's, else :func:`build_from_cfg`.
        parent: the registry to fall back to on a miss.
        scope: the name of this node in the tree; defaults to the top-level
            package of the module that creates the registry.
        locations: modules whose import registers this registry's members;
            imported on the first lookup miss.
    """

    def __init__(self,
                 name: str,
                 build_func: Optional[Callable] = None,
                 parent: Optional['Registry'] = None,
                 scope: Optional[str] = None,
                 locations: Optional[Iterable[str]] = None):
        if not isinstance(name, str):
            raise TypeError(f'Registry name must be a str, got {name!r}')
        self._name = name
        self._module_dict: Dict[str, Any] = {}
        self._children: Dict[str, 'Registry'] = {}
        self._locations: List[str] = list(locations or ())
        self._imported = not self._locations
        if scope is None:
            scope = self.infer_scope()
        elif not isinstance(scope, str):
            raise TypeError(f'scope must be a str, got {scope!r}')
        self._scope = scope
        if parent is not None:
            if not isinstance(parent, Registry):
                raise TypeError(
                    f'parent must be a Registry, got {type(parent).__name__}')
            parent._add_child(self)
        self.parent = parent
        if build_func is None:
            if parent is not None:
                build_func = parent.build_func
            else:
                from .build_functions import build_from_cfg
                build_func = build_from_cfg
        self.build_func = build_func

    @staticmethod
    def infer_scope() -> str:
        """The top-level package of the module that created the registry."""
        frame = sys._getframe(2)
        module_name = frame.f_globals.get('__name__', '') or ''
        return module_name.split('.')[0] or 'engine'

    @staticmethod
    def split_scope_key(key: str) -> Tuple[Optional[str], str]:
        """``'mydet.ResNet'`` -> ``('mydet', 'ResNet')``; no dot: no scope.
        """
        scope, dot, rest = key.partition('.')
        return (scope, rest) if dot else (None, key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def module_dict(self) -> Dict[str, Any]:
        return self._module_dict

    @property
    def children(self) -> Dict[str, 'Registry']:
        return self._children

    @property
    def root(self) -> 'Registry':
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __repr__(self) -> str:
        names = ', '.join(sorted(self._module_dict))
        return (f'Registry(name={self._name!r}, scope={self._scope!r}, '
                f'items=[{names}])')

    def _add_child(self, registry: 'Registry') -> None:
        if registry.scope in self._children:
            raise KeyError(
                f'scope {registry.scope!r} already exists in the '
                f'{self._name!r} registry')
        self._children[registry.scope] = registry

    def _search_child(self, scope: str) -> Optional['Registry']:
        if self._scope == scope:
            return self
        for child in self._children.values():
            found = child._search_child(scope)
            if found is not None:
                return found
        return None

    def import_from_location(self) -> None:
        """Import the modules that fill this registry (once).

        A location that does not exist (a part of the engine that is not
        installed) is skipped; any other import error is a bug in that module
        and propagates.
        """
        if self._imported:
            return
        self._imported = True
        for location in self._locations:
            try:
                importlib.import_module(location)
            except ModuleNotFoundError as exc:
                if exc.name is None or not location.startswith(exc.name):
                    raise

    def _lookup_local(self, key: str) -> Optional[Any]:
        obj = self._module_dict.get(key)
        if obj is None and not self._imported:
            self.import_from_location()
            obj = self._module_dict.get(key)
        return obj

    def get(self, key: str) -> Optional[Any]:
        """Return the class registered as ``key``, or None.

        ``key`` is looked up here, then in the parents; ``'scope.Name'``
        looks in the registry node of that scope. A dotted import path such as
        ``'torch.nn.Linear'`` that names no scope resolves by import.
        """
        if not isinstance(key, str):
            raise TypeError(
                f'Registry.get expects a str key, got {type(key).__name__}')
        scope, real_key = self.split_scope_key(key)
        if scope is None or scope == self._scope:
            node: Optional[Registry] = self
            while node is not None:
                obj = node._lookup_local(real_key)
                if obj is not None:
                    return obj
                if scope is not None:
                    break
                node = node.parent
            if scope is None:
                return None
        else:
            target = self._children.get(scope) or self.root._search_child(
                scope)
            if target is not None:
                return target.get(real_key)
        return _import_dotted(key)

    def _visible_names(self) -> List[str]:
        names: List[str] = []
        node: Optional[Registry] = self
        while node is not None:
            names.extend(node._module_dict)
            node = node.parent
        return names

    def unknown_key_error(self, key: str) -> RegistryError:
        """The error for a type name that nothing registered."""
        close = difflib.get_close_matches(key, self._visible_names(), n=5)
        hint = (f'Closest registered names: {", ".join(close)}.'
                if close else 'No registered name is close to it.')
        return RegistryError(
            f'{key!r} is not in the {self._scope}::{self._name} registry. '
            f'{hint} Check the spelling, or import the module that registers '
            f'it (e.g. with custom_imports in the config).')

    def build(self, cfg: Any, *args, **kwargs) -> Any:
        """Build an object from ``cfg`` with this registry's build function."""
        return self.build_func(cfg, *args, **kwargs, registry=self)

    def _register_module(self, module: Any,
                         module_name: Optional[Union[str, List[str]]] = None,
                         force: bool = False) -> None:
        if not callable(module):
            raise TypeError(
                f'only classes or functions can be registered in the '
                f'{self._name!r} registry, got {type(module).__name__}')
        if module_name is None:
            module_name = module.__name__
        names = [module_name] if isinstance(module_name, str) else module_name
        for name in names:
            existing = self._module_dict.get(name)
            if existing is not None and not force and existing is not module:
                where = getattr(existing, '__module__', '?')
                raise RegistryError(
                    f'{name!r} is already registered in the {self._name!r} '
                    f'registry (by {where}); pass force=True to replace it')
            self._module_dict[name] = module

    def register_module(self,
                        name: Optional[Union[str, List[str]]] = None,
                        force: bool = False,
                        module: Optional[Any] = None) -> Any:
        """Register a class or function, as a decorator or a direct call.

        ``@REG.register_module()``, ``@REG.register_module(name='Alias')``
        or ``REG.register_module(module=SomeClass)``.
        """
        if not isinstance(force, bool):
            raise TypeError(f'force must be a bool, got {force!r}')
        if not (name is None or isinstance(name, str) or
                (isinstance(name, (list, tuple))
                 and all(isinstance(n, str) for n in name))):
            raise TypeError(
                'name must be None, a str or a sequence of str, got '
                f'{name!r}')
        if module is not None:
            self._register_module(module, name, force)
            return module

        def _register(obj):
            self._register_module(obj, name, force)
            return obj

        return _register

