"""The training core: Runner, loops, checkpoint I/O and the hook dispatcher.

Mirrors ``mmengine.runner`` so that migrating is an import rename.
"""
from .checkpoint import (CheckpointLoadError, CheckpointNotFoundError,
                         CheckpointSaveError, find_latest_checkpoint,
                         get_state_dict, load_checkpoint,
                         load_checkpoint_file, load_state_dict,
                         save_checkpoint, weights_to_cpu)
from .loops import (BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop,
                    TestLoop, ValLoop)
from .randomness import set_random_seed
from .runner import Runner
from .signals import TrainingInterrupted

__all__ = [
    'Runner', 'BaseLoop', 'EpochBasedTrainLoop', 'IterBasedTrainLoop',
    'ValLoop', 'TestLoop', 'save_checkpoint', 'load_checkpoint',
    'load_checkpoint_file', 'load_state_dict', 'get_state_dict',
    'weights_to_cpu', 'find_latest_checkpoint', 'set_random_seed',
    'CheckpointLoadError', 'CheckpointNotFoundError', 'CheckpointSaveError',
    'TrainingInterrupted',
    'LogProcessor', 'Priority', 'get_priority'
]


def __getattr__(name: str):
    # mmengine.runner re-exports these; import them only when asked for.
    if name == 'LogProcessor':
        from engine.logging import LogProcessor
        return LogProcessor
    if name in ('Priority', 'get_priority'):
        from engine.hooks import priority
        return getattr(priority, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
