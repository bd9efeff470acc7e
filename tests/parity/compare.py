"""Bitwise comparison of encoded results with a message that names the
first difference: its path (``lr[12][''][0].lr``), both values, and the
values as decimals when they are hex-encoded floats."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

FIXTURES = Path(__file__).resolve().parent / 'fixtures'


def load_fixture(name: str) -> dict:
    """The recorded result of scenario ``name`` (e.g. ``engine_toy``)."""
    path = FIXTURES / f'{name}.json'
    if not path.exists():
        raise FileNotFoundError(
            f'no parity fixture {path}; record it with '
            '`/tmp/reference/bin/python tests/parity/record.py`')
    return json.loads(path.read_text())['result']


def _show(value: Any) -> str:
    if isinstance(value, str) and value.startswith(('0x', '-0x')):
        try:
            return f'{value} ({float.fromhex(value)!r})'
        except ValueError:
            pass
    text = repr(value)
    return text if len(text) < 200 else text[:200] + '...'


def _child(path: str, key: str) -> str:
    if key.isidentifier():
        return f'{path}.{key}' if path else key
    return f'{path}[{key!r}]'


def first_difference(expected: Any, actual: Any,
                     path: str = '') -> Optional[str]:
    """``None`` when equal, else a description of the first difference."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(expected) != list(actual) and set(expected) != set(actual):
            return (f'{path or "<root>"}: keys differ; missing '
                    f'{sorted(set(expected) - set(actual))}, unexpected '
                    f'{sorted(set(actual) - set(expected))}')
        for key in expected:
            found = first_difference(expected[key], actual[key],
                                     _child(path, key))
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual)):
            found = first_difference(e, a, f'{path}[{i}]')
            if found:
                return found
        if len(expected) != len(actual):
            return (f'{path or "<root>"}: length {len(actual)}, expected '
                    f'{len(expected)} (first extra/missing at index '
                    f'{min(len(expected), len(actual))})')
        return None
    if type(expected) is not type(actual) or expected != actual:
        return (f'{path or "<root>"}: got {_show(actual)}, expected '
                f'{_show(expected)}')
    return None


def assert_same(expected: Any, actual: Any, what: str) -> None:
    """Fail with the first difference between ``expected`` and ``actual``."""
    found = first_difference(expected, actual)
    if found:
        raise AssertionError(f'{what} differs at {found}')


def assert_continues(uninterrupted: dict, resumed: dict, done: int,
                     what: str) -> None:
    """``resumed`` (a run resumed after ``done`` iterations) must end where
    ``uninterrupted`` ends and repeat its last iterations exactly."""
    assert_same(uninterrupted['params'], resumed['params'],
                f'{what}: final params')
    assert_same(uninterrupted['lr'][done:], resumed['lr'],
                f'{what}: lr from iteration {done}')
    assert_same(uninterrupted['outputs'][done:], resumed['outputs'],
                f'{what}: outputs from iteration {done}')
