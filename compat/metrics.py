"""The validation numbers of mmcv's ``('val', 1)`` workflow as an engine
metric.

mmcv's val epoch ran the model's ``val_step`` on every batch, put each
batch's ``log_vars`` into the LogBuffer weighted by ``num_samples``, and
logged their averages at the end of the epoch. An adapted model's
``val_step`` hands the evaluator one entry per sample that all share their
batch's ``log_vars`` and ``num_samples``; :class:`LegacyLogVarsMetric` takes
each batch once and reduces exactly as mmcv's ``LogBuffer.average()`` did
(``np.sum(values * nums) / np.sum(nums)``), so the numbers are the same.
"""
from typing import Any, Dict, List, Sequence

import numpy as np

from engine.evaluator import BaseMetric
from engine.registry import METRICS

__all__ = ['LegacyLogVarsMetric']


@METRICS.register_module()
class LegacyLogVarsMetric(BaseMetric):
    """Weighted averages of the ``log_vars`` a legacy ``val_step`` returns.

    Args:
        collect_device, collect_dir: see ``BaseMetric``.
        prefix: prepended as ``prefix/key``; none by default, as mmcv logged
            the bare names.
    """

    default_prefix = ''

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        seen = set()
        for sample in data_samples:
            if not isinstance(sample, dict) or 'log_vars' not in sample:
                raise TypeError(
                    'LegacyLogVarsMetric needs the val_step output of an '
                    'adapted legacy model (dicts with "log_vars" and '
                    f'"num_samples"), got {type(sample).__name__}')
            log_vars = sample['log_vars']
            if id(log_vars) in seen:  # another sample of the same batch
                continue
            seen.add(id(log_vars))
            count = sample.get('num_samples', 1)
            self.results.append(
                ({k: _number(v) for k, v in log_vars.items()}, int(count)))

    def compute_metrics(self, results: List[Any]) -> Dict[str, float]:
        keys: List[str] = []
        for log_vars, _ in results:
            keys.extend(k for k in log_vars if k not in keys)
        metrics = {}
        for key in keys:
            rows = [(lv[key], n) for lv, n in results if key in lv]
            values = np.array([v for v, _ in rows])
            nums = np.array([n for _, n in rows])
            metrics[key] = float(np.sum(values * nums) / np.sum(nums))
        return metrics


def _number(value: Any) -> Any:
    """A plain number (log values may be 0-dim tensors or numpy scalars)."""
    item = getattr(value, 'item', None)
    return item() if callable(item) else value
