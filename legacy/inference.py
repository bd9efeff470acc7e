"""mmcv's ``single_gpu_test``/``multi_gpu_test`` (``mmcv.engine``): run a
legacy model over a loader in test mode and collect the per-sample results.

The model is called as ``model(return_loss=False, **data)`` and returns a
list with one result per sample. Across ranks, the results are gathered in
dataset order by ``engine.dist.collect_results`` (the samplers interleave
samples over ranks). There is no progress bar.
"""
from typing import Optional

import torch
import torch.nn as nn

from engine.dist import collect_results


def single_gpu_test(model: nn.Module, data_loader) -> list:
    """The results of ``model`` on every sample of ``data_loader``."""
    model.eval()
    results = []
    for data in data_loader:
        with torch.no_grad():
            result = model(return_loss=False, **data)
        results.extend(result)
    return results


def multi_gpu_test(model: nn.Module,
                   data_loader,
                   tmpdir: Optional[str] = None,
                   gpu_collect: bool = False) -> Optional[list]:
    """Test on every rank; rank 0 returns the results of the whole dataset
    in order, the other ranks None. ``gpu_collect`` gathers through the GPU
    instead of files in ``tmpdir``."""
    model.eval()
    results = []
    for data in data_loader:
        with torch.no_grad():
            result = model(return_loss=False, **data)
        results.extend(result)
    device = 'gpu' if gpu_collect else 'cpu'
    return collect_results(
        results, len(data_loader.dataset), device=device, tmpdir=tmpdir)
