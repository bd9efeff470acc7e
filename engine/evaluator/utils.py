"""Looking a metric up by its short or prefixed name."""
from typing import Any, Dict


def get_metric_value(indicator: str, metrics: Dict[str, Any]) -> Any:
    """The value of ``indicator`` in ``metrics``: a full name
    (``'prefix/name'``) must match exactly; a short name must match the last
    part of exactly one key."""
    if '/' in indicator:
        if indicator in metrics:
            return metrics[indicator]
        raise ValueError(f'The indicator {indicator!r} matches no metric in '
                         f'{list(metrics)}')
    matched = [key for key in metrics if key.split('/')[-1] == indicator]
    if not matched:
        raise ValueError(f'The indicator {indicator!r} matches no metric in '
                         f'{list(metrics)}')
    if len(matched) > 1:
        raise ValueError(f'The indicator {indicator!r} matches several '
                         f'metrics: {matched}')
    return metrics[matched[0]]
