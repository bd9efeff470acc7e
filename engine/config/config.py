"""Config: a config file (or dict) with attribute access, merging and dumps."""
import copy
import importlib
import json
import os.path as osp
import tempfile
from pathlib import Path
from typing import Any, Iterator, List, Optional, Union

from .config_dict import ConfigDict, merge_a_into_b, strip_delete_keys
from .formatting import format_config
from .loading import SUPPORTED_SUFFIXES, load_file

RESERVED_KEYS = ('filename', 'text', 'pretty_text', 'env_variables')


def import_modules_from_strings(imports: Union[str, List[str]],
                                allow_failed_imports: bool = False) -> list:
    """Import the modules a config lists in ``custom_imports`` (they register
    the config's custom classes)."""
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)) or not all(
            isinstance(name, str) for name in imports):
        raise TypeError(
            f'custom_imports.imports must be a str or a list of str, got '
            f'{imports!r}')
    modules = []
    for name in imports:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            if not allow_failed_imports:
                raise
            import warnings
            warnings.warn(f'{name} failed to import and is ignored.')
            modules.append(None)
    return modules


class Config:
    """A config: nested settings read from a file or given as a dict.

    Values are reachable as attributes (``cfg.model.type``) or items
    (``cfg['model']['type']``); nested dicts are :class:`ConfigDict`.

    Args:
        cfg_dict: the settings.
        cfg_text: the source text (set by :meth:`fromfile`).
        filename: the file the settings came from.
        env_variables: environment variables substituted while reading.
        format_python_code: accepted for compatibility; the text written by
            :attr:`pretty_text` is always formatted.
    """

    def __init__(self,
                 cfg_dict: Optional[dict] = None,
                 cfg_text: Optional[str] = None,
                 filename: Optional[Union[str, Path]] = None,
                 env_variables: Optional[dict] = None,
                 format_python_code: bool = True):
        if cfg_dict is None:
            cfg_dict = ConfigDict()
        elif not isinstance(cfg_dict, dict):
            raise TypeError(
                f'cfg_dict must be a dict, got {type(cfg_dict).__name__}')
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(
                    f'{key!r} is reserved for Config attributes and cannot '
                    f'be a config key')
        if not isinstance(cfg_dict, ConfigDict):
            cfg_dict = ConfigDict(cfg_dict)
        filename = str(filename) if filename is not None else None
        if cfg_text is None:
            if filename is not None and osp.isfile(filename):
                with open(filename, encoding='utf-8') as f:
                    cfg_text = f.read()
            else:
                cfg_text = ''
        object.__setattr__(self, '_cfg_dict', cfg_dict)
        object.__setattr__(self, '_filename', filename)
        object.__setattr__(self, '_text', cfg_text)
        object.__setattr__(self, '_env_variables', dict(env_variables or {}))

    @staticmethod
    def fromfile(filename: Union[str, Path],
                 use_predefined_variables: bool = True,
                 import_custom_modules: bool = True,
                 use_environment_variables: bool = True,
                 lazy_import: Optional[bool] = None,
                 format_python_code: bool = True) -> 'Config':
        """Read a .py, .json, .yaml or .yml config, following ``_base_``.

        ``lazy_import=True`` (mmengine's ``read_base()`` style configs) is
        not supported.
        """
        if lazy_import:
            raise NotImplementedError(
                'lazy_import configs (with read_base()) are not supported; '
                'use _base_ = [...] inheritance')
        cfg_dict, text, env_variables = load_file(
            str(filename), use_predefined_variables, use_environment_variables)
        custom_imports = cfg_dict.get('custom_imports')
        if import_custom_modules and custom_imports:
            if not isinstance(custom_imports, dict) or 'imports' not in (
                    custom_imports):
                raise TypeError(
                    f'custom_imports must be dict(imports=[...], '
                    f'allow_failed_imports=False), got {custom_imports!r}')
            import_modules_from_strings(**custom_imports)
        return Config(cfg_dict, cfg_text=text, filename=str(filename),
                      env_variables=env_variables)

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> 'Config':
        """Parse config text given the suffix of the file it would live in."""
        if file_format not in SUPPORTED_SUFFIXES:
            raise OSError(
                f'file_format must be one of {SUPPORTED_SUFFIXES}, got '
                f'{file_format!r}')
        with tempfile.TemporaryDirectory() as tmp_dir:
            path = osp.join(tmp_dir, f'config{file_format}')
            with open(path, 'w', encoding='utf-8') as f:
                f.write(cfg_str)
            cfg = Config.fromfile(path)
        object.__setattr__(cfg, '_filename', None)
        object.__setattr__(cfg, '_text', cfg_str)
        return cfg

    @property
    def filename(self) -> Optional[str]:
        return self._filename

    @property
    def text(self) -> str:
        return self._text

    @property
    def env_variables(self) -> dict:
        return self._env_variables

    @property
    def pretty_text(self) -> str:
        """The config as Python source that :meth:`fromfile` reads back."""
        return format_config(self._cfg_dict)

    def dump(self, file: Optional[Union[str, Path]] = None) -> Optional[str]:
        """Write the config to ``file`` (format by suffix) or return it.

        Without ``file`` the text is returned in the format of the file the
        config came from (Python for a dict config). A .py dump reads back
        through :meth:`fromfile` to an equal config.
        """
        if file is None:
            suffix = (osp.splitext(self._filename)[1]
                      if self._filename else '.py')
            return self._dumps(suffix)
        file = str(file)
        suffix = osp.splitext(file)[1]
        text = self._dumps(suffix)
        with open(file, 'w', encoding='utf-8') as f:
            f.write(text)
        return None

    def _dumps(self, suffix: str) -> str:
        if suffix == '.py':
            return format_config(self._cfg_dict, strict=True)
        data = self.to_dict()
        if suffix == '.json':
            return json.dumps(data, indent=4) + '\n'
        if suffix in ('.yaml', '.yml'):
            try:
                import yaml
            except ImportError:
                raise ImportError(
                    'dumping a config to YAML needs PyYAML: pip install '
                    'pyyaml') from None
            return yaml.safe_dump(data, sort_keys=False)
        raise OSError(
            f'cannot dump a config to {suffix!r}; supported are '
            f'{", ".join(SUPPORTED_SUFFIXES)}')

    def merge_from_dict(self, options: dict,
                        allow_list_keys: bool = True) -> None:
        """Apply overrides such as ``{'model.backbone.depth': 50}``.

        Dotted keys address nested dicts; with ``allow_list_keys`` a digit
        part indexes a list (``'custom_hooks.0.interval'``). A dict value
        merges into the existing dict unless it has ``_delete_=True``.
        """
        if not isinstance(options, dict):
            raise TypeError(
                f'options must be a dict, got {type(options).__name__}')
        nested: dict = {}
        for full_key, value in options.items():
            if not isinstance(full_key, str) or not full_key:
                raise KeyError(
                    f'override keys must be non-empty str, got {full_key!r}')
            node = nested
            *parents, leaf = full_key.split('.')
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise KeyError(
                        f'override {full_key!r} conflicts with another '
                        f'override that sets {part!r} to a value')
            node[leaf] = value
        merged = merge_a_into_b(nested, self._cfg_dict, allow_list_keys)
        object.__setattr__(self, '_cfg_dict', strip_delete_keys(merged))

    def to_dict(self, keep_imported: bool = False) -> dict:
        """The config as plain nested dicts."""
        return self._cfg_dict.to_dict()

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') or name == '_cfg_dict':
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, name: Any) -> Any:
        return self._cfg_dict[name]

    def __setitem__(self, name: Any, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delitem__(self, name: Any) -> None:
        del self._cfg_dict[name]

    def __contains__(self, name: Any) -> bool:
        return name in self._cfg_dict

    def __iter__(self) -> Iterator:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __repr__(self) -> str:
        return f'Config (path: {self._filename}): {self._cfg_dict!r}'

    def __getstate__(self) -> tuple:
        return (self._cfg_dict, self._filename, self._text,
                self._env_variables)

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(
            ('_cfg_dict', '_filename', '_text', '_env_variables'), state):
            object.__setattr__(self, name, value)

    def __copy__(self) -> 'Config':
        other = Config.__new__(Config)
        other.__setstate__(self.__getstate__())
        object.__setattr__(other, '_cfg_dict', self._cfg_dict.copy())
        return other

    copy = __copy__

    def __deepcopy__(self, memo: dict) -> 'Config':
        other = Config.__new__(Config)
        memo[id(self)] = other
        other.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return other
