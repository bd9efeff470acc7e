"""mmcv's LogBuffer: per-key histories averaged with sample-count weights.

The runner appends one entry per iteration and the logger hooks average the
latest ``interval`` entries. The average is mmcv's numpy expression
``sum(values * counts) / sum(counts)``, a numpy float64, so the logged
numbers, and their rounding in the ``.log.json`` file, are mmcv's.

Values may be tensors (a model that avoids ``.item()`` per iteration): they
are stored as given and turned into Python numbers only when an average is
asked for, i.e. on logging iterations. ``tensor.item()`` gives the exact
value numpy would read from the tensor, so the average is the same; the
history then keeps plain numbers, not tensors.
"""
import math
import operator
from collections import OrderedDict
from typing import Any, Dict, List, Optional

import numpy as np
import torch

# Averages of up to this many entries are computed in Python (cheaper than
# building numpy arrays below about 30); longer ones by numpy.
_PYTHON_UPTO = 24
# counts up to this sum convert to float64 exactly
_EXACT_INT = 2**53


def _numpy_order_sum(xs: List[float]) -> float:
    """The sum of ``xs`` (at most 128 values) in the order numpy sums a
    float64 array, so that it is numpy's bit for bit: 0.0 plus the pairwise
    sum, which adds up to 7 values one after the other, and otherwise keeps
    eight interleaved partial sums, combines them as a tree and adds the
    tail (longer arrays are split in two first, hence the limit)."""
    n = len(xs)
    if n < 8:
        total = 0.0
        for x in xs:
            total += x
        return total
    stop = n - n % 8
    p = xs[:8]
    for i in range(8, stop, 8):
        p = list(map(operator.add, p, xs[i:i + 8]))
    total = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
    for x in xs[stop:]:
        total += x
    return 0.0 + total


def _weighted_mean(values: list, counts: list) -> Optional[np.float64]:
    """mmcv's ``np.sum(values * counts) / np.sum(counts)`` computed in
    Python for a short run of floats weighted by ints: the same IEEE
    operations in the same order, at half the cost of building numpy arrays
    for every key on every logging iteration. None for anything else (a long
    run, other types, a zero or huge count, a non-finite sum): numpy then
    computes it, with its own type rules and warnings."""
    if len(values) > _PYTHON_UPTO:
        return None
    try:
        total_count = sum(counts)  # an int only if every count is one
        # float.__mul__ rejects values that are not floats
        products = list(map(float.__mul__, values, counts))
    except TypeError:
        return None
    if type(total_count) is not int or not 0 < abs(total_count) < _EXACT_INT:
        return None
    total = _numpy_order_sum(products)
    if not math.isfinite(total):
        return None
    return np.float64(total / total_count)


class LogBuffer:
    """History of logged scalars since the last clear, and their averages.

    ``output`` holds the averages computed by :meth:`average` (and whatever
    hooks write there directly, e.g. evaluation results); ``ready`` tells the
    logger hooks that ``output`` is worth printing.
    """

    def __init__(self) -> None:
        self.val_history: 'OrderedDict[str, list]' = OrderedDict()
        self.n_history: 'OrderedDict[str, list]' = OrderedDict()
        self.output: 'OrderedDict[str, Any]' = OrderedDict()
        self.ready = False
        # per key: how many leading entries are known to hold no tensor
        self._plain_upto: Dict[str, int] = {}

    def clear(self) -> None:
        """Forget the histories and the averages (at each epoch start)."""
        self.val_history.clear()
        self.n_history.clear()
        self._plain_upto.clear()
        self.clear_output()

    def clear_output(self) -> None:
        self.output.clear()
        self.ready = False

    def update(self, vars: Dict[str, Any], count: int = 1) -> None:
        """Append one value per key, weighted by ``count`` samples.

        Values are stored as given (floats, or tensors that are converted at
        averaging time): appending is on every iteration's path, averaging
        only on logging ones.
        """
        if not isinstance(vars, dict):
            raise TypeError(
                f'LogBuffer.update expects a dict of scalars, got '
                f'{type(vars).__name__}')
        val_history = self.val_history
        for key, var in vars.items():
            if key in val_history:
                val_history[key].append(var)
                self.n_history[key].append(count)
            else:
                val_history[key] = [var]
                self.n_history[key] = [count]

    def _plain_values(self, key: str, values: List[Any]) -> None:
        """Replace the one-element tensors of ``values`` by their numbers."""
        start = self._plain_upto.get(key, 0)
        for i in range(start, len(values)):
            value = values[i]
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                values[i] = value.item()
        self._plain_upto[key] = len(values)

    def average(self, n: int = 0) -> None:
        """Average the latest ``n`` entries of every key (all when 0)."""
        if n < 0:
            raise ValueError(f'n must be >= 0, got {n}')
        for key, values in self.val_history.items():
            self._plain_values(key, values)
            vals = values[-n:]
            nums = self.n_history[key][-n:]
            mean = _weighted_mean(vals, nums)
            if mean is None:
                vals, nums = np.array(vals), np.array(nums)
                mean = (vals * nums).sum() / nums.sum()
            self.output[key] = mean
        self.ready = True
