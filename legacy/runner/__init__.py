"""mmcv's runners (``mmcv.runner``'s runner classes)."""
from .base_runner import BaseRunner
from .builder import (RUNNER_BUILDERS, RUNNERS, DefaultRunnerConstructor,
                      build_runner)
from .epoch_based_runner import EpochBasedRunner, Runner
from .iter_based_runner import IterBasedRunner, IterLoader
from .utils import get_host_info, get_time_str, set_random_seed

__all__ = [
    'BaseRunner', 'EpochBasedRunner', 'Runner', 'IterBasedRunner',
    'IterLoader', 'RUNNERS', 'RUNNER_BUILDERS', 'DefaultRunnerConstructor',
    'build_runner', 'get_host_info', 'get_time_str', 'set_random_seed'
]
