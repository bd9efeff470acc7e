"""Reading config files: .py, .json and .yaml/.yml with ``_base_`` inheritance.

A .py config is plain Python executed with the standard library; its public
top-level names that hold data become the config (modules, functions,
classes and names starting with ``_`` are left out). Before parsing, the
text gets the substitutions configs written for mmengine rely on:
``{{ fileDirname }}``-style predefined variables, ``{{$ENV_VAR:default}}``
environment variables and ``{{_base_.key}}`` references to base values.
"""
import ast
import copy
import json
import os
import os.path as osp
import re
import types
import uuid
from typing import Any, Dict, List, Tuple

from .config_dict import ConfigDict, merge_a_into_b, strip_delete_keys

BASE_KEY = '_base_'
SUPPORTED_SUFFIXES = ('.py', '.json', '.yaml', '.yml')

_ENV_PATTERN = re.compile(
    r'\{\{[\'\"]?\s*\$(\w+)\s*\:\s*(\S*?)\s*[\'\"]?\}\}')
_BASE_VAR_PATTERN = re.compile(r'\{\{\s*' + BASE_KEY + r'\.([\w\.]+)\s*\}\}')


def check_config_path(filename: str) -> str:
    """Absolute path of an existing config file with a supported suffix."""
    path = osp.abspath(osp.expanduser(str(filename)))
    suffix = osp.splitext(path)[1]
    if suffix not in SUPPORTED_SUFFIXES:
        raise OSError(
            f'config file {filename!r} has the suffix {suffix!r}; supported '
            f'are {", ".join(SUPPORTED_SUFFIXES)}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    return path


def _substitute_predefined(text: str, filename: str) -> str:
    base = osp.basename(filename)
    values = dict(
        fileDirname=osp.dirname(filename),
        fileBasename=base,
        fileBasenameNoExtension=osp.splitext(base)[0],
        fileExtname=osp.splitext(filename)[1])
    for key, value in values.items():
        value = value.replace('\\', '/')
        text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', lambda _: value, text)
    return text


def _substitute_env(text: str, filename: str,
                    env_variables: Dict[str, str]) -> str:

    def replace(match: 're.Match') -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            env_variables[name] = os.environ[name]
            return os.environ[name]
        if not default:
            raise KeyError(
                f'{filename}: environment variable {name!r} is not set and '
                f'the config gives no default ({match.group(0)})')
        return default

    return _ENV_PATTERN.sub(replace, text)


def _protect_base_vars(text: str) -> Tuple[str, Dict[str, str]]:
    """Replace ``{{_base_.a.b}}`` by unique string literals to resolve after
    the bases are loaded (the text must parse before their values exist)."""
    placeholders: Dict[str, str] = {}

    def replace(match: 're.Match') -> str:
        token = f'_{match.group(1)}_{uuid.uuid4().hex[:8]}'
        placeholders[token] = match.group(1)
        return f'"{token}"'

    return _BASE_VAR_PATTERN.sub(replace, text), placeholders


def _resolve_base_vars(data: Any, placeholders: Dict[str, str],
                       base: dict, filename: str) -> Any:
    if isinstance(data, str) and data in placeholders:
        value: Any = base
        for part in placeholders[data].split('.'):
            try:
                value = value[int(part) if isinstance(value, list) else part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise KeyError(
                    f'{filename}: {{{{_base_.{placeholders[data]}}}}} refers '
                    f'to a key that the base configs do not define') from None
        return copy.deepcopy(value)
    if isinstance(data, dict):
        for key, value in data.items():
            data[key] = _resolve_base_vars(value, placeholders, base,
                                           filename)
        return data
    if isinstance(data, (list, tuple)):
        return type(data)(
            _resolve_base_vars(v, placeholders, base, filename) for v in data)
    return data


def _parse_python(text: str, filename: str) -> ast.Module:
    try:
        return ast.parse(text, filename=filename)
    except SyntaxError as exc:
        message = (f'syntax error in config file {filename}, line '
                   f'{exc.lineno}: {exc.msg}')
        raise SyntaxError(
            message, (filename, exc.lineno, exc.offset, exc.text)) from None


def _is_base_assign(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == BASE_KEY)


def _python_bases(tree: ast.Module, filename: str) -> List[str]:
    for node in tree.body:
        if _is_base_assign(node):
            try:
                return _as_base_list(ast.literal_eval(node.value), filename)
            except ValueError:
                raise ValueError(
                    f'{filename}, line {node.lineno}: {BASE_KEY} must be a '
                    f'literal str or list of str') from None
    return []


def _as_base_list(bases: Any, filename: str) -> List[str]:
    if isinstance(bases, str):
        bases = [bases]
    if not (isinstance(bases, (list, tuple))
            and all(isinstance(b, str) for b in bases)):
        raise TypeError(
            f'{filename}: {BASE_KEY} must be a str or a list of str, got '
            f'{bases!r}')
    return list(bases)


def _is_plain_name(name: Any, value: Any) -> bool:
    return (isinstance(name, str) and not name.startswith('_')
            and not isinstance(value, (types.ModuleType, types.FunctionType,
                                       types.BuiltinFunctionType, type)))


def _exec_python(tree: ast.Module, filename: str, base: ConfigDict) -> dict:
    tree.body = [node for node in tree.body if not _is_base_assign(node)]
    code = compile(tree, filename, 'exec')
    namespace: Dict[str, Any] = {
        BASE_KEY: copy.deepcopy(base),
        '__file__': filename,
        '__name__': '__config__',
    }
    exec(code, namespace)
    return {k: v for k, v in namespace.items() if _is_plain_name(k, v)}


def _load_data_file(text: str, filename: str) -> dict:
    if filename.endswith('.json'):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f'invalid JSON in config file {filename}: '
                             f'{exc}') from None
    else:
        try:
            import yaml
        except ImportError:
            raise ImportError(f'reading {filename} needs PyYAML: '
                              'pip install pyyaml') from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f'invalid YAML in config file {filename}: '
                             f'{exc}') from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TypeError(
            f'config file {filename} must hold a mapping at the top level, '
            f'got {type(data).__name__}')
    return data


def load_file(filename: str,
              use_predefined_variables: bool = True,
              use_environment_variables: bool = True,
              _chain: Tuple[str, ...] = ()) -> Tuple[ConfigDict, str, dict]:
    """Read one config file and its bases.

    Returns the merged config, the text of the whole inheritance chain (each
    file's path followed by its content, bases first) and the environment
    variables that were substituted.
    """
    filename = check_config_path(filename)
    if filename in _chain:
        cycle = ' -> '.join(_chain + (filename, ))
        raise RuntimeError(f'circular {BASE_KEY} inheritance: {cycle}')
    with open(filename, encoding='utf-8') as f:
        raw_text = f.read()
    text = raw_text
    env_variables: Dict[str, str] = {}
    if use_predefined_variables:
        text = _substitute_predefined(text, filename)
    if use_environment_variables:
        text = _substitute_env(text, filename, env_variables)
    text, placeholders = _protect_base_vars(text)

    is_python = filename.endswith('.py')
    if is_python:
        tree = _parse_python(text, filename)
        base_files = _python_bases(tree, filename)
    else:
        own = _load_data_file(text, filename)
        base_files = _as_base_list(own.pop(BASE_KEY, []), filename)

    base_cfg = ConfigDict()
    texts = []
    for base_file in base_files:
        base_path = osp.join(osp.dirname(filename), base_file)
        if not osp.isfile(base_path):
            raise FileNotFoundError(
                f'{filename}: base config {base_file!r} does not exist '
                f'(looked for {osp.abspath(base_path)})')
        cfg, base_text, base_env = load_file(base_path,
                                             use_predefined_variables,
                                             use_environment_variables,
                                             _chain + (filename, ))
        duplicates = set(base_cfg) & set(cfg)
        if duplicates:
            raise KeyError(
                f'{filename}: the base configs define the same keys '
                f'{sorted(duplicates)}; a key may come from one base only')
        base_cfg.update(cfg)
        texts.append(base_text)
        env_variables.update(base_env)

    if is_python:
        own = _exec_python(tree, filename, base_cfg)
    own = _resolve_base_vars(own, placeholders, base_cfg, filename)
    merged = strip_delete_keys(merge_a_into_b(own, base_cfg))
    texts.append(f'{filename}\n{raw_text}')
    return merged, '\n'.join(texts), env_variables
