"""compat: run MMCV 1.x models, hooks, configs and checkpoints on the engine.

- :func:`adapt` - a legacy model trainable by ``engine.runner.Runner``;
- :func:`migrate_config` - an old config as Runner arguments plus a report;
- :func:`bridge_hook` / :class:`LegacyHookBridge` - MMCV hooks in the engine
  (the engine runner also accepts them directly in ``custom_hooks``);
- :func:`legacy_to_engine` / :func:`engine_to_legacy` and
  :class:`LegacyCheckpointHook` - checkpoints across both layouts;
- :func:`install_aliases` - opt-in ``mmcv.runner`` / ``mmengine.*`` imports;
- ``python -m compat`` - migrate, upgrade and upgrade-checkpoint commands.

Importing compat registers its engine components (LegacyHookBridge,
LegacyCheckpointHook, LegacyLogVarsMetric, LegacyMultiOptimWrapperConstructor)
in the engine registries. It never imports ``legacy``: ``legacy`` builds on
compat, not the other way round.
"""
from .adapter import adapt, is_adapted, per_sample
from .aliases import aliases_installed, install_aliases, uninstall_aliases
from .checkpoints import (LegacyCheckpointHook, engine_to_legacy,
                          is_legacy_checkpoint, legacy_to_engine,
                          load_legacy_checkpoint, upgrade_checkpoint_file)
from .hook_bridge import (LegacyHookBridge, LegacyRunnerView, bridge_hook,
                          register_legacy_hook_registry)
from .metrics import LegacyLogVarsMetric
from .migrate_config import MigratedConfig, migrate_config
from .optim_constructor import LegacyMultiOptimWrapperConstructor
from .optimizer_proxy import OptimizerProxy, OptimizerProxyDict
from .report import MigrationReport, ReportEntry

__all__ = [
    'adapt', 'is_adapted', 'per_sample', 'migrate_config', 'MigratedConfig',
    'MigrationReport', 'ReportEntry', 'bridge_hook', 'LegacyHookBridge',
    'LegacyRunnerView', 'register_legacy_hook_registry',
    'LegacyCheckpointHook', 'legacy_to_engine', 'engine_to_legacy',
    'is_legacy_checkpoint', 'load_legacy_checkpoint',
    'upgrade_checkpoint_file', 'install_aliases', 'uninstall_aliases',
    'aliases_installed', 'LegacyLogVarsMetric',
    'LegacyMultiOptimWrapperConstructor', 'OptimizerProxy',
    'OptimizerProxyDict'
]
