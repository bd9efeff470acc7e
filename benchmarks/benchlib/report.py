"""Plain-text tables, JSON files and the optional plot.

matplotlib is an optional extra (``pip install trainbridge[plot]``): without
it the tables and JSON are complete and the plot is skipped with a note.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence


def fmt(value: Any) -> str:
    """Compact numbers for tables: 0 stays 0, tiny values use exponents."""
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, float):
        if math.isnan(value):
            return '-'
        if value == 0:
            return '0'
        if math.isinf(value):
            return 'inf' if value > 0 else '-inf'
        if abs(value) < 1e-3 or abs(value) >= 1e5:
            return f'{value:.2e}'
        return f'{value:.4g}'
    return str(value)


def table(headers: Sequence[str], rows: List[Sequence[Any]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        first = r[0].ljust(widths[0])
        return '  '.join([first] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])])

    out = [line(cells[0]), '  '.join('-' * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return '\n'.join(out)


def write_json(path: str, data: Dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a results file."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, allow_nan=True)
    os.replace(tmp, path)


def plot_curves(path: str, cases: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """One row per case: loss curves left, lr curves right.

    Returns a note when the plot could not be made, None when it was.
    """
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return ('matplotlib is not installed: plot skipped '
                "(pip install 'trainbridge[plot]' or matplotlib)")
    names = list(cases)
    fig, axes = plt.subplots(len(names), 2, squeeze=False,
                             figsize=(11, 2.6 * len(names)))
    for row, key in zip(axes, names):
        for name, curves in cases[key]['paths'].items():
            if not curves.get('losses'):
                continue
            style = dict(linewidth=1, alpha=0.8)
            for i in range(len(curves['losses'][0])):
                label = name if i == 0 else f'{name} [{i}]'
                row[0].plot([v[i] for v in curves['losses']], label=label,
                            **style)
            row[1].plot([v[0] for v in curves['lrs']], label=name, **style)
        row[0].set_title(f'{key}: loss', fontsize=9)
        row[1].set_title(f'{key}: lr (first param group)', fontsize=9)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None
