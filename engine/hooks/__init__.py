"""Hooks: code run at fixed stages of training, validation and testing."""
from .checkpoint_hook import CheckpointHook
from .ema_hook import EMAHook
from .empty_cache_hook import EmptyCacheHook
from .hook import Hook
from .iter_timer_hook import IterTimerHook
from .logger_hook import LoggerHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .param_scheduler_hook import ParamSchedulerHook
from .priority import Priority, get_priority
from .runtime_info_hook import RuntimeInfoHook
from .sampler_seed_hook import DistSamplerSeedHook
from .sync_buffer_hook import SyncBuffersHook

__all__ = [
    'Hook', 'Priority', 'get_priority', 'CheckpointHook', 'LoggerHook',
    'RuntimeInfoHook', 'IterTimerHook', 'ParamSchedulerHook',
    'DistSamplerSeedHook', 'EMAHook', 'SyncBuffersHook', 'EmptyCacheHook',
    'NonFiniteLossHook'
]
