"""Config values as readable Python source (``Config.pretty_text``/``dump``).

The output is what a person would write by hand (``dict(a=1)`` style, one
item per line when a value does not fit on one line) and reads back to the
same values through ``Config.fromfile``.
"""
import keyword
import math
from typing import Any, List

LINE_WIDTH = 79
INDENT = 4


class UnformattableValue(TypeError):
    """A value that has no Python-literal form (raised by strict dumps)."""


def _is_identifier(key: Any) -> bool:
    return (isinstance(key, str) and key.isidentifier()
            and not keyword.iskeyword(key))


def _scalar(value: Any, strict: bool, where: str) -> str:
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return repr(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return f"float('{value}')"
    if isinstance(value, type) or callable(value) and hasattr(
            value, '__qualname__') and hasattr(value, '__module__'):
        # Classes and functions are written as their import path, which the
        # registries resolve back to the object.
        return repr(f'{value.__module__}.{value.__qualname__}')
    if strict:
        raise UnformattableValue(
            f'{where}: a {type(value).__name__} ({value!r}) cannot be written '
            f'to a Python config file; only None, bool, int, float, str, '
            f'bytes, dict, list, tuple and classes/functions can')
    return repr(value)


def _dict_items(value: dict, strict: bool, where: str, indent: int,
                as_call: bool) -> List[str]:
    items = []
    for key, val in value.items():
        head = f'{key}=' if as_call else f'{key!r}: '
        items.append(head + format_value(val, strict, f'{where}.{key}',
                                         indent, indent + len(head)))
    return items


def _inline(value: Any, strict: bool, where: str) -> str:
    if isinstance(value, dict):
        as_call = all(_is_identifier(k) for k in value)
        parts = [(f'{k}=' if as_call else f'{k!r}: ') +
                 _inline(v, strict, f'{where}.{k}') for k, v in value.items()]
        return (f'dict({", ".join(parts)})'
                if as_call else '{' + ', '.join(parts) + '}')
    if isinstance(value, (list, tuple)):
        parts = [
            _inline(v, strict, f'{where}[{i}]') for i, v in enumerate(value)
        ]
        if isinstance(value, list):
            return '[' + ', '.join(parts) + ']'
        if len(parts) == 1:
            return f'({parts[0]}, )'
        return '(' + ', '.join(parts) + ')'
    return _scalar(value, strict, where)


def format_value(value: Any, strict: bool, where: str, indent: int,
                 used: int) -> str:
    """Source for ``value`` whose first line starts at column ``used`` and
    whose continuation lines are indented from column ``indent``."""
    one_line = _inline(value, strict, where)
    if (used + len(one_line) <= LINE_WIDTH
            or not isinstance(value, (dict, list, tuple)) or not value):
        return one_line
    inner = indent + INDENT
    pad = ' ' * inner
    if isinstance(value, dict):
        as_call = all(_is_identifier(k) for k in value)
        items = _dict_items(value, strict, where, inner, as_call)
        opening, closing = ('dict(', ')') if as_call else ('{', '}')
    else:
        items = [
            format_value(v, strict, f'{where}[{i}]', inner, inner)
            for i, v in enumerate(value)
        ]
        opening, closing = ('[', ']') if isinstance(value, list) else ('(',
                                                                       ')')
    body = ''.join(f'{pad}{item},\n' for item in items)
    return f'{opening}\n{body}{" " * indent}{closing}'


def format_config(cfg: dict, strict: bool = False) -> str:
    """The whole config as a Python module, one assignment per key."""
    lines = []
    for key, value in cfg.items():
        # A key that is not an identifier can still be assigned (and read
        # back) through the module namespace.
        target = key if _is_identifier(key) else f'globals()[{key!r}]'
        prefix = f'{target} = '
        lines.append(prefix +
                     format_value(value, strict, str(key), 0, len(prefix)))
    return '\n'.join(lines) + '\n'
