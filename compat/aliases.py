"""Opt-in import aliases: ``mmcv.runner`` -> ``legacy``, ``mmengine.X`` ->
``engine.X``.

A team with many untouched MMCV/MMEngine files can call
:func:`install_aliases` once (e.g. in its launcher) instead of editing every
import. The aliases are module objects that forward attribute look-ups to the
package they stand for, resolved on first use: installing them imports
nothing, and ``compat`` never imports ``legacy`` unless an aliased ``mmcv``
name is actually read. They are refused while the real mmcv or mmengine is
imported, because two different classes named ``Runner`` in one process make
``isinstance`` checks fail in ways that are very hard to debug.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['install_aliases', 'uninstall_aliases', 'aliases_installed']

# Names whose first match wins. mmcv 1.x kept its runner, logging and
# parallel helpers in three sub-packages that ``legacy`` exports flat; the
# config and registry helpers mmcv exposed at its top level come from the
# engine.
_MMCV_FLAT = ('legacy', )
_MMCV_TOP = ('legacy', 'engine.config', 'engine.registry')
_MMCV_PACKAGES = {
    'mmcv': _MMCV_TOP,
    'mmcv.runner': _MMCV_FLAT,
    'mmcv.parallel': _MMCV_FLAT,
    'mmcv.utils': _MMCV_TOP,
    'mmcv.utils.logging': _MMCV_FLAT,
    'mmcv.utils.config': ('engine.config', ),
    'mmcv.utils.registry': ('engine.registry', ),
}
_ROOTS = ('mmcv', 'mmengine')
# What an aliased package claims to be, for code that checks versions.
_EMULATED_VERSIONS = {'mmcv': '1.7.2', 'mmengine': '0.10.7'}


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _targets_for(fullname: str) -> Tuple[str, ...]:
    """The real modules an aliased name forwards to, in look-up order."""
    if fullname in _MMCV_PACKAGES:
        return _MMCV_PACKAGES[fullname]
    parts = fullname.split('.')
    if parts[0] == 'mmengine':
        target = '.'.join(['engine'] + parts[1:])
        if not _module_exists(target):
            raise ModuleNotFoundError(
                f'{fullname!r} is aliased to {target!r} by '
                'compat.install_aliases(), but the engine has no such module',
                name=fullname)
        return (target, )
    # mmcv.runner.hooks.lr_updater -> legacy.hooks.lr_updater, else the
    # closest existing parent (legacy.hooks), else legacy itself.
    if parts[1] not in ('runner', 'parallel', 'utils'):
        raise ModuleNotFoundError(
            f'{fullname!r} has no equivalent in this project: '
            'compat.install_aliases() only provides mmcv.runner, mmcv.utils '
            'and mmcv.parallel (as legacy) and mmengine.* (as engine)',
            name=fullname)
    rest = parts[2:]
    while rest:
        candidate = '.'.join(['legacy'] + rest)
        if _module_exists(candidate):
            return (candidate, )
        rest = rest[:-1]
    return _MMCV_FLAT


class _AliasModule(types.ModuleType):
    """A stand-in package whose attributes are those of its targets."""

    def __init__(self, name: str, targets: Sequence[str]):
        super().__init__(name)
        self.__compat_alias_targets__ = tuple(targets)
        self.__path__: List[str] = []
        root = name.split('.')[0]
        if name == root:
            self.__version__ = _EMULATED_VERSIONS[root]

    def _modules(self) -> List[types.ModuleType]:
        return [
            importlib.import_module(t) for t in self.__compat_alias_targets__
        ]

    def __getattr__(self, attr: str):
        if attr.startswith('__') and attr != '__all__':
            raise AttributeError(attr)
        for module in self._modules():
            try:
                value = getattr(module, attr)
            except AttributeError:
                continue
            # Cache: later look-ups are plain attribute reads.
            setattr(self, attr, value)
            return value
        raise AttributeError(
            f'{self.__name__!r} (an alias of '
            f'{" / ".join(self.__compat_alias_targets__)} installed by '
            f'compat.install_aliases()) has no attribute {attr!r}')

    def __dir__(self) -> List[str]:
        names = set(super().__dir__())
        for module in self._modules():
            names.update(dir(module))
        return sorted(names)


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of mmcv.* and mmengine.* with alias modules."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname.split('.')[0] not in _ROOTS:
            return None
        targets = _targets_for(fullname)
        spec = importlib.machinery.ModuleSpec(
            fullname, self, is_package=True)
        spec.loader_state = targets
        return spec

    def create_module(self, spec) -> types.ModuleType:
        return _AliasModule(spec.name, spec.loader_state)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: attributes are forwarded on demand."""


_finder: Optional[_AliasFinder] = None


def _real_modules_loaded() -> Dict[str, str]:
    """Already imported mmcv/mmengine modules that are not our aliases."""
    found = {}
    for name in _ROOTS:
        module = sys.modules.get(name)
        if module is not None and not isinstance(module, _AliasModule):
            found[name] = getattr(module, '__file__', None) or repr(module)
    return found


def aliases_installed() -> bool:
    """Whether :func:`install_aliases` is in effect."""
    return _finder is not None


def install_aliases() -> None:
    """Make ``import mmcv.runner`` / ``import mmengine.X`` give ``legacy`` /
    ``engine.X`` in this process.

    Raises:
        RuntimeError: the real mmcv or mmengine is already imported.
    """
    global _finder
    real = _real_modules_loaded()
    if real:
        where = ', '.join(f'{k} from {v}' for k, v in sorted(real.items()))
        raise RuntimeError(
            f'compat.install_aliases() refused: the real {where} is already '
            'imported in this process, and aliasing it now would leave two '
            'different classes under the same names. Call install_aliases() '
            'before anything imports mmcv/mmengine, or run without the '
            'aliases.')
    if _finder is None:
        _finder = _AliasFinder()
        sys.meta_path.insert(0, _finder)


def uninstall_aliases() -> None:
    """Remove the aliases and forget every alias module already imported
    (mainly for tests)."""
    global _finder
    if _finder is not None:
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        _finder = None
    for name, module in list(sys.modules.items()):
        if isinstance(module, _AliasModule):
            del sys.modules[name]
