"""Run one workload under one setting on a runner API handed in as a namespace.

The functions here never import a framework: the caller passes the API
(``legacy`` or ``mmcv.runner`` for the old style, ``engine`` or ``mmengine``
for the new), so the same code drives our packages in this process and the
real ones in the reference interpreter. What differs between the two sides is
only the import line, which is the project's promise.

Namespaces (``types.SimpleNamespace``):

* old style: ``Runner``, ``Hook``, ``get_logger``, ``build_optimizer``,
  ``auto_fp16`` (and ``MMDataParallel`` for a run on the GPU)
* new style: ``Runner``, ``Hook``, ``BaseModel``, ``OptimWrapper``,
  ``OptimWrapperDict``
"""
from __future__ import annotations

import copy
import logging
import time
import traceback
from typing import Any, Dict, List, Optional

import torch
from torch.utils.data import DataLoader

from .models import Workload, initial_state, load_initial, with_auto_fp16
from .scenarios import LOG_CONFIG, Setting
from .trace import Trace, losses_as_floats, median_step


def _flat_lrs(lrs) -> List[float]:
    """Learning rates of every param group, optimizers in name order."""
    if isinstance(lrs, dict):
        return [lr for key in sorted(lrs) for lr in lrs[key]]
    return list(lrs)


def old_style_recorder(hook_base: type):
    """An old-style hook recording the lr in effect at each iteration."""

    class LrRecorder(hook_base):
        def __init__(self) -> None:
            self.lrs: List[List[float]] = []
            self.stamps: List[float] = []

        def after_train_iter(self, runner) -> None:
            self.lrs.append(_flat_lrs(runner.current_lr()))
            self.stamps.append(time.perf_counter())

    return LrRecorder()


def new_style_recorder(hook_base: type):
    """A new-style hook recording the lr before the schedulers step it.

    ``HIGHEST`` priority puts it ahead of the scheduler hook, which advances
    by-iteration schedules in ``after_train_iter``.
    """

    class LrRecorder(hook_base):
        priority = 'HIGHEST'

        def __init__(self) -> None:
            self.lrs: List[List[float]] = []
            self.stamps: List[float] = []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None) -> None:
            self.lrs.append(_flat_lrs(runner.optim_wrapper.get_lr()))
            self.stamps.append(time.perf_counter())

    return LrRecorder()


def make_loader(workload: Workload) -> DataLoader:
    return DataLoader(workload.make_data(), batch_size=workload.batch_size)


def build_old_optimizers(api, model: torch.nn.Module, cfg: Dict[str, Any]):
    """One optimizer, or one per sub-module when ``cfg`` is keyed by name.

    The second form is how GAN configs of the MMCV era (mmgen) are written.
    """
    if 'type' in cfg:
        return api.build_optimizer(model, copy.deepcopy(cfg))
    return {name: api.build_optimizer(getattr(model, name), copy.deepcopy(sub))
            for name, sub in cfg.items()}


def old_style_hooks(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Arguments of ``register_training_hooks``, as an MMCV-era train script
    builds them: an ``fp16`` key turns the optimizer hook into the fp16 one."""
    optimizer_config = copy.deepcopy(cfg.get('optimizer_config'))
    fp16 = cfg.get('fp16')
    if fp16 is not None:
        optimizer_config = dict(optimizer_config or {})
        optimizer_config.setdefault('type', 'Fp16OptimizerHook')
        optimizer_config.update(fp16, distributed=False)
    return dict(lr_config=copy.deepcopy(cfg.get('lr_config')),
                optimizer_config=optimizer_config,
                momentum_config=copy.deepcopy(cfg.get('momentum_config')),
                log_config=copy.deepcopy(LOG_CONFIG))


def finish(path: str, model: torch.nn.Module, recorder) -> Trace:
    """Collect the curves (the only host reads of the run) and the weights."""
    return Trace(
        path=path, losses=losses_as_floats(model.loss_trace),
        lrs=recorder.lrs,
        params={k: v.detach().clone() for k, v in model.state_dict().items()},
        sec_per_iter=median_step(recorder.stamps), iters=len(recorder.lrs))


def legacy_model(api, workload: Workload, setting: Setting) -> torch.nn.Module:
    """The old-style model at the shared initial weights; an fp16 setting
    gets the ``@auto_fp16`` forward of ``api``, as MMCV-era fp16 code has."""
    model = load_initial(workload.make_legacy(), initial_state(workload))
    if 'fp16' in setting.legacy:
        with_auto_fp16(model, api.auto_fp16)
    return model.to(workload.device)


def run_old_style(api, path: str, workload: Workload, setting: Setting,
                  work_dir: str, name: str, max_epochs: int) -> Trace:
    """Train on an MMCV-1.x-style runner exactly as a team's script does."""
    cfg = setting.legacy_cfg()
    model = legacy_model(api, workload, setting)
    optimizer = build_old_optimizers(api, model, cfg['optimizer'])
    # On a GPU an MMCV script wraps the model in MMDataParallel, whose
    # scatter moves each batch to the device; the engine's data
    # preprocessor does that on the new-style paths.
    runner_model = model if workload.device == 'cpu' else \
        api.MMDataParallel(model, device_ids=[0])
    runner = api.Runner(
        model=runner_model, optimizer=optimizer,
        work_dir=work_dir, logger=api.get_logger(name, log_level=logging.WARNING),
        max_epochs=max_epochs)
    runner.register_training_hooks(**old_style_hooks(cfg))
    recorder = old_style_recorder(api.Hook)
    runner.register_hook(recorder, priority='HIGHEST')
    runner.run([make_loader(workload)], [('train', 1)])
    return finish(path, model, recorder)


def plain_copy(value):
    """Copy the config containers, share everything else.

    Runners mutate the dicts they are given, so each run needs its own; but
    a deep copy would also clone pre-built optimizer wrappers, which would
    then update cloned parameters instead of the model's.
    """
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_copy(v) for v in value)
    return value


def run_new_style(api, path: str, model: torch.nn.Module, workload: Workload,
                  runner_kwargs: Dict[str, Any], work_dir: str, name: str,
                  max_epochs: int, traced: Optional[torch.nn.Module] = None
                  ) -> Trace:
    """Train on an MMEngine-style runner.

    ``runner_kwargs`` holds the recipe (optimizer wrapper, schedulers, and
    whatever a config migration produced); this function adds only the data,
    the run length, quiet logging and the recorder. ``traced`` is the module
    whose loss trace and weights count (the legacy model inside an adapter).
    """
    kwargs = plain_copy(runner_kwargs)
    recorder = new_style_recorder(api.Hook)
    kwargs['custom_hooks'] = list(kwargs.get('custom_hooks') or []) + [recorder]
    kwargs.setdefault('train_cfg', dict(by_epoch=True, max_epochs=max_epochs))
    kwargs['train_cfg']['max_epochs'] = max_epochs
    default_hooks = dict(kwargs.get('default_hooks') or {})
    default_hooks.setdefault('checkpoint', None)   # legacy runs save nothing
    kwargs['default_hooks'] = default_hooks
    kwargs.setdefault('randomness', dict(seed=0))
    runner = api.Runner(model=model, work_dir=work_dir,
                        train_dataloader=make_loader(workload),
                        experiment_name=name, log_level='WARNING', **kwargs)
    runner.train()
    return finish(path, traced if traced is not None else model, recorder)


def native_model(api, workload: Workload) -> torch.nn.Module:
    # (the engine runner moves it to the GPU itself when there is one)
    return load_initial(workload.make_native(api.BaseModel),
                        initial_state(workload))


def engine_cfg_kwargs(api, setting: Setting, model: torch.nn.Module,
                      max_iters: int) -> Dict[str, Any]:
    """The hand-written MMEngine recipe as Runner arguments.

    A GAN's wrappers are built here over their sub-modules because neither
    engine builds several optimizers from a plain config without a custom
    constructor.
    """
    kwargs = setting.engine_cfg(max_iters)
    gan = kwargs.pop('gan_optimizers', None)
    if gan is not None:
        wrappers = {}
        for name, cfg in gan.items():
            cfg = dict(cfg)
            optim_cls = getattr(torch.optim, cfg.pop('type'))
            wrappers[name] = api.OptimWrapper(
                optimizer=optim_cls(getattr(model, name).parameters(), **cfg))
        kwargs['optim_wrapper'] = api.OptimWrapperDict(**wrappers)
    return kwargs


def run_engine_cfg(api, path: str, workload: Workload, setting: Setting,
                   work_dir: str, name: str, max_epochs: int,
                   max_iters: int) -> Trace:
    """The native port trained with the hand-written MMEngine recipe."""
    model = native_model(api, workload)
    return run_new_style(api, path, model, workload,
                         engine_cfg_kwargs(api, setting, model, max_iters),
                         work_dir, name, max_epochs)


def guarded(path: str, fn, *args, **kwargs) -> Trace:
    """Run ``fn``; a crash becomes a failed trace instead of ending the table."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported in the table and JSON
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return Trace(path=path, error=f'{type(exc).__name__}: {exc} '
                                      f'({frame.filename}:{frame.lineno})')
