"""Named, process-wide instances (the pattern behind MessageHub and MMLogger).

Components that must be reachable from anywhere without being passed around
(the message hub a hook writes to, the logger a helper prints to) are created
once under a name and looked up later by that name, or as "the latest one".
"""
import threading
from typing import Dict, Type, TypeVar

T = TypeVar('T', bound='ManagerMixin')

_lock = threading.RLock()


class ManagerMixin:
    """Give a class a registry of named instances.

    Every subclass gets its own ``_instance_dict`` so that, for example,
    loggers and message hubs never see each other's names. Insertion order is
    kept: the most recently *created* instance is the current one.
    """

    _instance_dict: Dict[str, 'ManagerMixin'] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._instance_dict = {}

    def __init__(self, name: str = '', **kwargs):
        if not isinstance(name, str) or not name:
            raise ValueError(
                f'{type(self).__name__} needs a non-empty str name, '
                f'got {name!r}')
        self._instance_name = name

    @classmethod
    def get_instance(cls: Type[T], name: str, **kwargs) -> T:
        """Return the instance called ``name``, creating it on first use.

        Keyword arguments only matter on creation; passing them for an
        existing name is almost always a mistake, so it is reported.
        """
        if not isinstance(name, str):
            raise TypeError(
                f'instance name must be a str, got {type(name).__name__}')
        with _lock:
            instance = cls._instance_dict.get(name)
            if instance is None:
                instance = cls(name=name, **kwargs)
                cls._instance_dict[name] = instance
            elif kwargs:
                import warnings
                warnings.warn(
                    f'{cls.__name__} instance {name!r} already exists; the '
                    f'arguments {sorted(kwargs)} are ignored')
            return instance  # type: ignore[return-value]

    @classmethod
    def get_current_instance(cls: Type[T]) -> T:
        """Return the most recently created instance."""
        with _lock:
            if not cls._instance_dict:
                raise RuntimeError(
                    f'No {cls.__name__} instance exists yet: call '
                    f'{cls.__name__}.get_instance(name) first')
            return next(reversed(cls._instance_dict.values()))  # type: ignore

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        return name in cls._instance_dict

    @property
    def instance_name(self) -> str:
        return self._instance_name
