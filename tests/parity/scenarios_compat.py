"""The legacy scenarios trained on the engine through compat (issue 4).

The old model is wrapped with ``compat.adapt`` and trained by
``engine.runner.Runner(**compat.migrate_config(cfg))`` built from the
scenario's MMCV-style config, exactly as a team moving one model would do.
The result has the engine record layout (:mod:`.scenarios_engine`), with the
old model's own ``state_dict`` as ``params``.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

from . import scenarios_engine
from .apis import engine_api
from .common import seed_everything
from .scenarios_legacy import LegacyScenario

# What the caller provides, whatever the migrated arguments say.
_OURS = ('model', 'work_dir', 'experiment_name', 'train_dataloader',
         'val_dataloader')


def run_on_engine(scenario: LegacyScenario, work_dir: Path,
                  resume_from: Optional[Path] = None,
                  stop_after_epoch: Optional[int] = None) -> dict:
    import compat

    api = engine_api('engine')
    migrated = compat.migrate_config(copy.deepcopy(scenario.cfg))
    kwargs = {k: v for k, v in dict(migrated).items() if k not in _OURS}
    seed_everything()
    model = scenario.model()
    loaders = scenario.data()
    kwargs['train_dataloader'] = loaders['train']
    if kwargs.get('val_cfg') is not None:
        kwargs['val_dataloader'] = loaders['val']
    if resume_from is not None:
        kwargs.update(load_from=str(resume_from), resume=True)
    return scenarios_engine.train(
        api, work_dir, compat.adapt(model), f'compat-{scenario.name}',
        trained=model, stop_after_epoch=stop_after_epoch, **kwargs)
