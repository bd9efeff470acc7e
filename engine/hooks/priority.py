"""Hook priorities: a named scale so hooks order the same way everywhere."""
from enum import Enum
from typing import Union


class Priority(Enum):
    """Priority levels of hooks; a smaller value runs earlier."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: Union[int, str, Priority]) -> int:
    """Turn an int, a level name (any case) or a :class:`Priority` into its
    integer value, so the dispatcher only ever sorts integers."""
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, bool):
        raise TypeError(f'priority must be an int in [0, 100], a Priority or '
                        f'one of its names, but got the bool {priority!r}')
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(
                f'priority must be between 0 and 100, but got {priority}')
        return priority
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            names = ', '.join(p.name for p in Priority)
            raise ValueError(f'unknown priority name {priority!r}; expected '
                             f'one of {names}') from None
    raise TypeError('priority must be an int in [0, 100], a Priority or one '
                    f'of its names, but got {type(priority).__name__}: '
                    f'{priority!r}')
