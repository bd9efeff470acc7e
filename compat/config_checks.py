"""Validation helpers for old config fields: each error names the field,
what was expected and what was found."""
from typing import Any

__all__ = ['require_dict', 'require_int', 'require_bool', 'check_keys']


def require_dict(field: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f'{field} must be a dict, got '
                        f'{type(value).__name__}: {value!r}')
    return value


def require_int(field: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{field} must be an int, got '
                        f'{type(value).__name__}: {value!r}')
    if value < minimum:
        raise ValueError(f'{field} must be >= {minimum}, got {value}')
    return value


def require_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'{field} must be a bool, got '
                        f'{type(value).__name__}: {value!r}')
    return value


def check_keys(field: str, cfg: dict, allowed: set, what: str) -> None:
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise TypeError(f'{field}: {what} got unexpected key(s) {unknown}; '
                        f'it accepts {sorted(allowed - {"type"})}')
