"""What one training run leaves behind, and how two runs are compared.

A ``Trace`` crosses the process boundary (the reference interpreter writes
it as JSON), so it holds plain data: floats survive ``json`` exactly (Python
writes the shortest repr that round-trips a double, and every float32 or
bfloat16 value is a double), and parameters travel with their dtype so the
comparison on our side is between the tensors the reference really produced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import torch

# The design's tolerance where operation order forbids bitwise equality.
REL_TOL = 1e-6


@dataclass
class Trace:
    path: str
    losses: List[List[float]] = field(default_factory=list)
    lrs: List[List[float]] = field(default_factory=list)
    params: Dict[str, torch.Tensor] = field(default_factory=dict)
    sec_per_iter: float = math.nan
    iters: int = 0
    error: Optional[str] = None
    # Why the path cannot run this setting at all (not a failure).
    skipped: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        return dict(
            path=self.path, losses=self.losses, lrs=self.lrs,
            params={k: dict(dtype=str(v.dtype).replace('torch.', ''),
                            shape=list(v.shape),
                            data=v.detach().reshape(-1).tolist())
                    for k, v in self.params.items()},
            sec_per_iter=self.sec_per_iter, iters=self.iters, error=self.error,
            skipped=self.skipped)

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> 'Trace':
        params = {
            k: torch.tensor(v['data'], dtype=getattr(torch, v['dtype'])
                            ).reshape(v['shape'])
            for k, v in obj.get('params', {}).items()}
        return cls(obj['path'], obj.get('losses', []), obj.get('lrs', []),
                   params, obj.get('sec_per_iter', math.nan),
                   obj.get('iters', 0), obj.get('error'), obj.get('skipped'))


def losses_as_floats(trace_list: Sequence[torch.Tensor]) -> List[List[float]]:
    """One row per iteration: the run's loss tensors, read once at the end."""
    return [t.float().reshape(-1).tolist() for t in trace_list]


def median_step(stamps: Sequence[float]) -> float:
    """Typical iteration time: the median gap between iteration ends.

    The median ignores epoch transitions (and mmcv's sleeps there) and the
    first iteration's warm-up, so it prices one steady-state iteration.
    """
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
    if not gaps:
        return math.nan
    mid = len(gaps) // 2
    return gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2


@dataclass
class Diff:
    """How far ``other`` is from ``base``; ``inf`` when shapes disagree."""

    param: float
    loss: float
    lr: float
    param_rel: float
    loss_rel: float
    lr_rel: float
    bitwise: bool

    @property
    def close(self) -> bool:
        return max(self.param_rel, self.loss_rel, self.lr_rel) <= REL_TOL

    def status(self, strict: bool = False) -> str:
        if self.bitwise:
            return 'bitwise'
        if self.close and not strict:
            return 'close'
        return 'DIFFERENT'

    def to_json(self) -> Dict[str, Any]:
        return dict(max_param_diff=self.param, max_loss_diff=self.loss,
                    max_lr_diff=self.lr, max_param_rel=self.param_rel,
                    max_loss_rel=self.loss_rel, max_lr_rel=self.lr_rel,
                    bitwise=self.bitwise)


def _rows_diff(a: List[List[float]], b: List[List[float]]):
    """(max abs diff, max diff relative to the curve's scale, exactly equal)."""
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
        return math.inf, math.inf, False
    if not a:
        return 0.0, 0.0, True
    ta = torch.tensor(a, dtype=torch.float64)
    tb = torch.tensor(b, dtype=torch.float64)
    return _tensor_diff(ta, tb)


def _tensor_diff(a: torch.Tensor, b: torch.Tensor):
    if a.shape != b.shape:
        return math.inf, math.inf, False
    if a.numel() == 0:
        return 0.0, 0.0, True
    a64, b64 = a.double(), b.double()
    gap = (a64 - b64).abs()
    # NaN in either run is a difference, never an equality.
    if torch.isnan(gap).any():
        return math.inf, math.inf, False
    worst = gap.max().item()
    scale = b64.abs().max().item()
    rel = worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf)
    return worst, rel, bool(torch.equal(a, b))


def compare(base: Trace, other: Trace) -> Diff:
    """Compare ``other`` against ``base`` over parameters, losses and lrs."""
    if set(base.params) != set(other.params):
        missing = sorted(set(base.params) ^ set(other.params))
        raise ValueError(f'{other.path} and {base.path} hold different '
                         f'parameters: {missing}')
    p_abs = p_rel = 0.0
    p_equal = True
    for key, value in base.params.items():
        worst, rel, equal = _tensor_diff(other.params[key], value)
        p_abs, p_rel = max(p_abs, worst), max(p_rel, rel)
        p_equal = p_equal and equal and other.params[key].dtype == value.dtype
    l_abs, l_rel, l_equal = _rows_diff(other.losses, base.losses)
    r_abs, r_rel, r_equal = _rows_diff(other.lrs, base.lrs)
    return Diff(p_abs, l_abs, r_abs, p_rel, l_rel, r_rel,
                p_equal and l_equal and r_equal)
