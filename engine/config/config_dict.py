"""ConfigDict: a dict whose keys are also attributes, and config merging."""
import copy
from collections import OrderedDict
from typing import Any

DELETE_KEY = '_delete_'


class ConfigDict(dict):
    """A ``dict`` with attribute access (``cfg.model.type``).

    Nested plain dicts (also inside lists and tuples) become ConfigDicts when
    stored, so attribute access works at any depth. A missing key read as an
    attribute raises AttributeError (so ``hasattr`` and ``getattr(cfg, k,
    default)`` behave); read as an item it raises KeyError. Keys that clash
    with dict methods (``items``, ``copy``...) are reachable only as items.
    """

    __slots__ = ()

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.update(*args, **kwargs)

    @classmethod
    def _hook(cls, item: Any) -> Any:
        if type(item) in (dict, OrderedDict):
            return cls(item)
        if type(item) is list:
            return [cls._hook(elem) for elem in item]
        if type(item) is tuple:
            return tuple(cls._hook(elem) for elem in item)
        return item

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute "
                f"'{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, self._hook(value))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs) -> None:
        """Update recursively: a dict value merges into an existing dict
        value instead of replacing it (the behaviour configs rely on)."""
        if len(args) > 1:
            raise TypeError(
                f'update expected at most 1 positional argument, got '
                f'{len(args)}')
        other = dict(*args, **kwargs)
        for key, value in other.items():
            current = dict.get(self, key)
            if isinstance(current, dict) and isinstance(value, dict):
                current.update(value)
            else:
                self[key] = value

    def __copy__(self) -> 'ConfigDict':
        other = type(self)()
        for key, value in dict.items(self):
            dict.__setitem__(other, key, value)
        return other

    copy = __copy__

    def __deepcopy__(self, memo: dict) -> 'ConfigDict':
        other = type(self)()
        memo[id(self)] = other
        for key, value in dict.items(self):
            dict.__setitem__(other, copy.deepcopy(key, memo),
                             copy.deepcopy(value, memo))
        return other

    def __reduce__(self):
        return (type(self), (dict(self), ))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def to_dict(self) -> dict:
        """A deep conversion to plain dicts (lists and tuples kept)."""
        return _to_plain(self)

    def merge(self, other: dict) -> None:
        """Merge ``other`` into this dict in place, honouring ``_delete_``."""
        merged = merge_a_into_b(copy.deepcopy(dict(other)), self)
        dict.clear(self)
        for key, value in merged.items():
            self[key] = value


def _to_plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _to_plain(value) for key, value in data.items()}
    if type(data) in (list, tuple):
        return type(data)(_to_plain(item) for item in data)
    return data


def strip_delete_keys(data: Any) -> Any:
    """Remove leftover ``_delete_`` markers (from keys absent in the base)."""
    if isinstance(data, dict):
        data.pop(DELETE_KEY, None)
        for value in data.values():
            strip_delete_keys(value)
    elif isinstance(data, (list, tuple)):
        for item in data:
            strip_delete_keys(item)
    return data


def merge_a_into_b(a: dict, b: Any, allow_list_keys: bool = False,
                   path: str = '') -> Any:
    """Return ``b`` updated with ``a`` (``b`` itself is not modified).

    A dict value in ``a`` merges into the dict at the same key of ``b``
    unless it carries ``_delete_=True``, in which case it replaces it. With
    ``allow_list_keys``, digit keys in ``a`` index into a list in ``b``
    (``{'hooks': {'0': dict(interval=5)}}``).
    """
    if isinstance(b, list):
        b = list(b)
    else:
        b = ConfigDict(dict.items(b) if isinstance(b, dict) else b)
    for key, value in a.items():
        where = f'{path}.{key}' if path else str(key)
        if isinstance(b, list):
            if not (allow_list_keys and isinstance(key, str)
                    and key.isdigit()):
                raise TypeError(
                    f'{where}: {path or "the target"} is a list, so the key '
                    f'must be a list index, got {key!r}')
            index = int(key)
            if index >= len(b):
                raise IndexError(
                    f'{where}: index {index} is out of range for a list of '
                    f'length {len(b)}')
            if (isinstance(value, dict) and not value.pop(DELETE_KEY, False)
                    and isinstance(b[index], (dict, list))):
                b[index] = merge_a_into_b(value, b[index], allow_list_keys,
                                          where)
            else:
                b[index] = value
        elif isinstance(value, dict) and key in b and not value.pop(
                DELETE_KEY, False):
            allowed = (dict, list) if allow_list_keys else dict
            if not isinstance(b[key], allowed):
                raise TypeError(
                    f'{where}: cannot merge the dict {value!r} into it '
                    f'because it is a {type(b[key]).__name__} '
                    f'({b[key]!r}), not a dict; add `{DELETE_KEY}=True` to '
                    f'the dict to replace the value instead')
            b[key] = merge_a_into_b(value, b[key], allow_list_keys, where)
        else:
            b[key] = value
    return b
