"""One namespace per API family, so a scenario is written once.

A scenario receives ``api`` and only touches names the original and our
package both export; which package backs the namespace is the caller's
choice (the recorder picks the originals, the tests pick ours).
"""
from __future__ import annotations

import importlib
from types import ModuleType, SimpleNamespace

ENGINE_FAMILIES = ('mmengine', 'engine')
LEGACY_FAMILIES = ('mmcv', 'legacy')
_ENGINE_MODULES = ('runner', 'model', 'optim', 'hooks', 'evaluator',
                   'registry', 'logging', 'dataset')


def engine_api(family: str) -> SimpleNamespace:
    """Return ``api.runner``, ``api.model``, ``api.optim`` ... of ``family``.

    ``family`` is ``'mmengine'`` (the original) or ``'engine'`` (ours).
    """
    if family not in ENGINE_FAMILIES:
        raise ValueError(
            f'engine_api: family must be one of {ENGINE_FAMILIES}, '
            f'got {family!r}')
    modules = {name: importlib.import_module(f'{family}.{name}')
               for name in _ENGINE_MODULES}
    return SimpleNamespace(family=family, **modules)


def legacy_api(family: str) -> ModuleType | SimpleNamespace:
    """Return a flat namespace of the MMCV 1.x runner API of ``family``.

    ``'legacy'`` is our package, which already exports everything flat.
    ``'mmcv'`` merges ``mmcv.runner``, ``mmcv.utils.get_logger`` and
    ``mmcv.parallel`` the way our package lays them out.
    """
    if family == 'legacy':
        return importlib.import_module('legacy')
    if family != 'mmcv':
        raise ValueError(
            f'legacy_api: family must be one of {LEGACY_FAMILIES}, '
            f'got {family!r}')
    runner = importlib.import_module('mmcv.runner')
    utils = importlib.import_module('mmcv.utils')
    parallel = importlib.import_module('mmcv.parallel')
    names = {k: v for k, v in vars(runner).items() if not k.startswith('_')}
    names.update(get_logger=utils.get_logger, print_log=utils.print_log,
                 MMDataParallel=parallel.MMDataParallel,
                 MMDistributedDataParallel=parallel.MMDistributedDataParallel)
    return SimpleNamespace(**names)
