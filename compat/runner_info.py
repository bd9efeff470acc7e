"""Facts about an engine runner that compat needs without building anything
(a runner that only validates has no train loop to build)."""
from typing import Any

import torch.nn as nn


def runner_by_epoch(runner: Any) -> bool:
    """Whether the runner trains by epoch (True when it has no train loop).

    Reads the loop as configured (``runner._train_loop`` holds the config
    dict until the loop is built) so that asking never builds dataloaders.
    """
    loop = getattr(runner, '_train_loop', None)
    if loop is None:
        return True
    if isinstance(loop, dict):
        loop_type = loop.get('type')
        if loop_type is not None:
            name = loop_type if isinstance(loop_type, str) else getattr(
                loop_type, '__name__', '')
            return 'Iter' not in name
        return bool(loop.get('by_epoch', 'max_iters' not in loop))
    from engine.runner.loops import IterBasedTrainLoop
    return not isinstance(loop, IterBasedTrainLoop)


def unwrap_model(model: Any) -> Any:
    """The model inside any data-parallel wrappers."""
    from engine.model import is_model_wrapper
    while is_model_wrapper(model) or isinstance(
            model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model
