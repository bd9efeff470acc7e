"""Our three paths: ``legacy``, ``compat.adapt`` on ``engine``, native ``engine``.

Imports of the project happen inside functions, so that importing this
module costs nothing (the import-timing subprocess measures them) and a
missing package shows up as one failed path, not a crash of the table.
"""
from __future__ import annotations

import types
from typing import Any, Dict

from . import overhead_jobs as oj
from . import paths
from .models import Workload
from .scenarios import LOG_CONFIG, Setting


def legacy_api() -> types.SimpleNamespace:
    import legacy
    return types.SimpleNamespace(
        Runner=legacy.EpochBasedRunner, Hook=legacy.Hook,
        get_logger=legacy.get_logger, build_optimizer=legacy.build_optimizer,
        auto_fp16=legacy.auto_fp16, MMDataParallel=legacy.MMDataParallel)


def native_api() -> types.SimpleNamespace:
    from engine.hooks import Hook
    from engine.model import BaseModel
    from engine.optim import OptimWrapper, OptimWrapperDict
    from engine.runner import Runner
    return types.SimpleNamespace(
        Runner=Runner, Hook=Hook, BaseModel=BaseModel,
        OptimWrapper=OptimWrapper, OptimWrapperDict=OptimWrapperDict)


def adapted_api() -> types.SimpleNamespace:
    import compat
    api = native_api()
    api.adapt = compat.adapt
    api.migrate_config = compat.migrate_config
    return api


def migrated_kwargs(api, legacy_cfg: Dict[str, Any],
                    max_epochs: int) -> Dict[str, Any]:
    """Engine Runner arguments from a complete MMCV-era config.

    The config is what a team's file holds: the recipe plus the runner,
    logging, checkpoint and workflow keys the MMCV train script read.
    """
    old = dict(legacy_cfg)
    old.setdefault('log_config', dict(LOG_CONFIG))
    old.update(runner=dict(type='EpochBasedRunner', max_epochs=max_epochs),
               checkpoint_config=None, workflow=[('train', 1)])
    return dict(api.migrate_config(old))


# ----------------------------------------------------------------- parity
def run_legacy(workload: Workload, setting: Setting, work_dir: str,
               name: str, max_epochs: int, max_iters: int):
    return paths.run_old_style(legacy_api(), 'legacy', workload, setting,
                               work_dir, name, max_epochs)


def run_adapted(workload: Workload, setting: Setting, work_dir: str,
                name: str, max_epochs: int, max_iters: int):
    api = adapted_api()
    # The team's model code, migrated by import rename, uses legacy's auto_fp16.
    model = paths.legacy_model(legacy_api(), workload, setting)
    kwargs = migrated_kwargs(api, setting.legacy_cfg(), max_epochs)
    return paths.run_new_style(api, 'adapted', api.adapt(model), workload,
                               kwargs, work_dir, name, max_epochs,
                               traced=model)


def run_native(workload: Workload, setting: Setting, work_dir: str,
               name: str, max_epochs: int, max_iters: int):
    """The native port trained with the migrated recipe (what a team that
    ports a model keeps: its numbers must not move)."""
    api = adapted_api()
    model = paths.native_model(api, workload)
    kwargs = migrated_kwargs(api, setting.legacy_cfg(), max_epochs)
    return paths.run_new_style(api, 'native', model, workload, kwargs,
                               work_dir, name, max_epochs)


def run_engine_cfg(workload: Workload, setting: Setting, work_dir: str,
                   name: str, max_epochs: int, max_iters: int):
    """The native port on the hand-written recipe: the twin of mmengine."""
    return paths.run_engine_cfg(native_api(), 'engine', workload, setting,
                                work_dir, name, max_epochs, max_iters)


PARITY_PATHS = dict(legacy=run_legacy, adapted=run_adapted,
                    native=run_native)


# --------------------------------------------------------------- overhead
def adapted_path(api, workload: oj.Workload, name: str) -> oj.Build:
    def make_model(w, stamps):
        return api.adapt(oj.LeanLegacy(w.make_net(), w.loss_fn, stamps))

    def runner_kwargs(epochs):
        return migrated_kwargs(api, oj.LEGACY_CFG, epochs)

    return oj.new_style_path(api, workload, name, make_model, runner_kwargs)


def overhead_paths(workload: oj.Workload) -> Dict[str, oj.Build]:
    return dict(
        plain=oj.plain_path(workload),
        legacy=oj.old_style_path(legacy_api(), workload, 'bench_legacy'),
        adapted=adapted_path(adapted_api(), workload, 'bench_adapted'),
        native=oj.native_path(native_api(), workload, 'bench_native'))


def build_for_import_timing(path: str, api) -> None:
    """Build one runner on the tiny model (the import-timing subprocess)."""
    tiny = oj.WORKLOADS['tiny']
    make = dict(legacy=oj.old_style_path, adapted=adapted_path,
                native=oj.native_path)[path]
    oj.build_with(make(api, tiny, f'import_{path}'))
