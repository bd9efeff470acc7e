"""mmcv's LogBuffer: per-key histories averaged with sample-count weights.

The runner appends one entry per iteration and the logger hooks average the
latest ``interval`` entries. The average is computed with numpy exactly as
mmcv does (``sum(values * counts) / sum(counts)``, a numpy float64), so the
logged numbers, and their rounding in the ``.log.json`` file, are mmcv's.

Values may be tensors (a model that avoids ``.item()`` per iteration): they
are stored as given and turned into Python numbers only when an average is
asked for, i.e. on logging iterations. ``tensor.item()`` gives the exact
value numpy would read from the tensor, so the average is the same; the
history then keeps plain numbers, not tensors.
"""
from collections import OrderedDict
from typing import Any, Dict, List

import numpy as np
import torch


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

        Values are stored as given (floats, or tensors that numpy converts at
        averaging time): appending is on every iteration's path, averaging
        only on logging ones.
        """
        if not isinstance(vars, dict):
            raise TypeError(
                f'LogBuffer.update expects a dict of scalars, got '
                f'{type(vars).__name__}')
        val_history = self.val_history
        n_history = self.n_history
        for key, var in vars.items():
            values = val_history.get(key)
            if values is None:
                values = val_history[key] = []
                n_history[key] = []
            values.append(var)
            n_history[key].append(count)

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
            vals = np.array(values[-n:])
            nums = np.array(self.n_history[key][-n:])
            self.output[key] = (vals * nums).sum() / nums.sum()
        self.ready = True
