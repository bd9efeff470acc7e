"""Run MMCV-style hooks inside ``engine.runner.Runner``.

An MMCV hook has stage methods that take only ``runner`` and reads mmcv's
runner attributes (``runner.outputs['log_vars']``, ``runner.log_buffer``,
``runner.inner_iter``, ``runner.optimizer``...). :class:`LegacyHookBridge`
is an engine hook that calls such a hook at the matching engine stages with
a :class:`LegacyRunnerView`, an object with mmcv's runner attributes backed
by the engine runner. All bridged hooks of one runner share one view, so an
attribute one legacy hook sets on ``runner`` is seen by the others, as with
mmcv's single runner object.

Stage mapping (mmcv -> engine): ``before_run``/``after_run`` as is;
``before_train_epoch``/``after_train_epoch`` on an epoch-based run, and
mmcv's IterBasedRunner calls ``before_epoch``/``after_epoch`` once around
the whole run, which is where the engine's iteration loop calls
``before_train_epoch``/``after_train_epoch``; ``before/after_train_iter``
and the ``val`` stages as is. A bridge class only defines the engine stages
its legacy hook acts on, so the engine's dispatcher never calls it for the
others: an idle stage costs nothing per iteration.

Legacy hook *configs* (``dict(type='MyHook', ...)``) are built from the
legacy hook registries registered with :func:`register_legacy_hook_registry`
(``legacy.HOOKS`` counts as registered as soon as legacy is imported;
compat itself never imports legacy). Once this module is imported, the
engine runner also accepts legacy hook instances and configs directly in
``custom_hooks`` (through ``engine.runner.builders.HOOK_CONVERTERS``).
"""
import sys
from typing import Any, Dict, List, Optional

from engine.hooks import Hook
from engine.registry import HOOKS
from engine.runner import builders
from .runner_view import LegacyRunnerView, LogBufferView

__all__ = [
    'LegacyHookBridge', 'LegacyRunnerView', 'LogBufferView', 'bridge_hook',
    'register_legacy_hook_registry', 'build_legacy_hook', 'is_legacy_hook'
]

MMCV_STAGES = ('before_run', 'before_train_epoch', 'before_train_iter',
               'after_train_iter', 'after_train_epoch', 'before_val_epoch',
               'before_val_iter', 'after_val_iter', 'after_val_epoch',
               'after_run')
# The mode-generic method mmcv's base Hook calls from each stage.
_GENERIC = {
    'before_train_epoch': 'before_epoch',
    'before_val_epoch': 'before_epoch',
    'after_train_epoch': 'after_epoch',
    'after_val_epoch': 'after_epoch',
    'before_train_iter': 'before_iter',
    'before_val_iter': 'before_iter',
    'after_train_iter': 'after_iter',
    'after_val_iter': 'after_iter',
}

_LEGACY_REGISTRIES: List[Any] = []


def register_legacy_hook_registry(registry: Any) -> None:
    """Let hook configs be built from ``registry`` (an object with ``get``
    and ``build``, such as ``legacy.HOOKS``). ``legacy`` calls this when it
    is imported; call it yourself for a registry of your own."""
    if not (callable(getattr(registry, 'get', None))
            and callable(getattr(registry, 'build', None))):
        raise TypeError('register_legacy_hook_registry expects a registry '
                        'with get() and build(), got '
                        f'{type(registry).__name__}')
    if all(r is not registry for r in _LEGACY_REGISTRIES):
        _LEGACY_REGISTRIES.append(registry)


def _registry_get(registry: Any, name: str) -> Any:
    try:
        return registry.get(name)
    except KeyError:
        return None


def _registries() -> List[Any]:
    """The registered legacy hook registries; ``legacy.HOOKS`` counts as
    registered once legacy is imported (it is looked up, never imported:
    compat does not depend on legacy)."""
    legacy = sys.modules.get('legacy')
    registry = getattr(legacy, 'HOOKS', None)
    if registry is not None and all(r is not registry
                                    for r in _LEGACY_REGISTRIES):
        try:
            register_legacy_hook_registry(registry)
        except TypeError:
            pass
    return _LEGACY_REGISTRIES


def find_legacy_hook_type(name: str) -> Any:
    """The class registered as ``name`` in a legacy hook registry, or
    None."""
    for registry in _registries():
        cls = _registry_get(registry, name)
        if cls is not None:
            return cls
    return None


def build_legacy_hook(cfg: dict) -> Any:
    """Build a legacy hook from ``dict(type=..., **kwargs)``."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError('a legacy hook config must be a dict with a "type", '
                        f'got {cfg!r}')
    cfg = dict(cfg)
    cfg.pop('priority', None)
    hook_type = cfg.pop('type')
    cls = hook_type if isinstance(hook_type, type) else \
        find_legacy_hook_type(hook_type)
    if cls is None:
        known = sorted({
            k for r in _registries()
            for k in getattr(r, 'module_dict', {})
        })
        hint = (f' Registered legacy hooks: {known}.' if known else
                ' No legacy hook registry is registered: import legacy (it '
                'registers legacy.HOOKS) or call '
                'compat.hook_bridge.register_legacy_hook_registry(...).')
        raise KeyError(f'{hook_type!r} is not a registered legacy hook.'
                       f'{hint}')
    return cls(**cfg)


def _triggered_stages(hook: Any) -> List[str]:
    """The mmcv stages ``hook`` acts on (generic overrides included)."""
    get = getattr(hook, 'get_triggered_stages', None)
    if callable(get):
        return [s for s in get() if s in MMCV_STAGES]
    return [
        s for s in MMCV_STAGES
        if callable(getattr(hook, s, None))
        or callable(getattr(hook, _GENERIC.get(s, ''), None))
    ]


def is_legacy_hook(obj: Any) -> bool:
    """An mmcv-style hook: not an engine hook, and with mmcv stage methods
    (or ``get_triggered_stages``)."""
    if isinstance(obj, Hook) or isinstance(obj, (dict, type, str)):
        return False
    return callable(getattr(obj, 'get_triggered_stages', None)) or any(
        callable(getattr(obj, s, None))
        for s in MMCV_STAGES + tuple(set(_GENERIC.values())))


# --------------------------------------------------------------- the bridge
class LegacyHookBridge(Hook):
    """Engine hook that runs one MMCV-style hook (see the module docstring).

    Args:
        hook: a legacy hook object, or its config dict (built from the
            registered legacy hook registries).
        priority: engine priority; defaults to the legacy hook's own
            ``priority`` attribute if it has one, else ``'NORMAL'`` (mmcv's
            default for custom hooks).

    Instances are of a subclass that defines only the stages the legacy
    hook uses.
    """

    _classes: Dict[frozenset, type] = {}

    def __new__(cls, hook: Any = None, priority: Any = None):
        if cls is not LegacyHookBridge:
            return super().__new__(cls)
        legacy = build_legacy_hook(hook) if isinstance(hook, dict) else hook
        if not is_legacy_hook(legacy):
            raise TypeError(
                'LegacyHookBridge needs an MMCV-style hook (an object with '
                f'stage methods such as after_train_iter(runner)), got '
                f'{type(legacy).__name__}')
        # mmcv's stage names are the engine's; only their arguments differ
        engine_stages = frozenset(_triggered_stages(legacy))
        subclass = cls._classes.get(engine_stages)
        if subclass is None:
            body = {s: _STAGE_FUNCS[s] for s in engine_stages}
            subclass = type('LegacyHookBridge', (LegacyHookBridge, ), body)
            cls._classes[engine_stages] = subclass
        bridge = super().__new__(subclass)
        bridge._legacy = legacy
        return bridge

    def __init__(self, hook: Any = None, priority: Any = None):
        self.hook = self.__dict__.pop('_legacy')
        if priority is None:
            priority = getattr(self.hook, 'priority', None) or 'NORMAL'
        self.priority = priority
        self._view: Optional[LegacyRunnerView] = None
        # mmcv calls the stage itself, or the generic method for duck-typed
        # hooks that only have that one.
        self._calls = {
            s: getattr(self.hook, s, None) or getattr(self.hook,
                                                      _GENERIC.get(s, ''))
            for s in _triggered_stages(self.hook)
        }

    def _view_of(self, runner: Any) -> LegacyRunnerView:
        view = self._view
        if view is None or view._runner is not runner:
            view = self._view = LegacyRunnerView.of(runner)
            if all(h is not self.hook for h in view._hooks):
                view._hooks.append(self.hook)
        return view

    def _call(self, stage: str, view: LegacyRunnerView) -> None:
        method = self._calls.get(stage)
        if method is not None:
            method(view)

    def __repr__(self) -> str:
        return f'LegacyHookBridge({self.hook!r})'


def _before_run(self, runner) -> None:
    view = self._view_of(runner)
    self._call('before_run', view)


def _after_run(self, runner) -> None:
    self._call('after_run', self._view_of(runner))


def _train_epoch_stage(stage: str, iter_based_name: str):

    def run(self, runner) -> None:
        view = self._view_of(runner)
        view._enter('train', 0, None)
        if view.by_epoch:
            self._call(stage, view)
        else:
            method = getattr(self.hook, iter_based_name, None)
            if method is not None:
                method(view)

    run.__name__ = stage
    return run


def _before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
    view = self._view_of(runner)
    view._enter('train', batch_idx if view.by_epoch else 0, data_batch)
    self._calls['before_train_iter'](view)


def _after_train_iter(self,
                      runner,
                      batch_idx: int,
                      data_batch=None,
                      outputs=None) -> None:
    view = self._view_of(runner)
    view._enter('train', batch_idx if view.by_epoch else 0, data_batch)
    view.outputs = view._legacy_outputs(outputs)
    self._calls['after_train_iter'](view)


def _val_epoch_stage(stage: str):

    def run(self, runner, metrics=None) -> None:
        view = self._view_of(runner)
        view._enter('val', 0, None)
        if view.by_epoch:  # mmcv's IterBasedRunner has no val epochs
            self._calls[stage](view)

    run.__name__ = stage
    return run


def _before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
    view = self._view_of(runner)
    view._enter('val', batch_idx, data_batch)
    self._calls['before_val_iter'](view)


def _after_val_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch=None,
                    outputs=None) -> None:
    view = self._view_of(runner)
    view._enter('val', batch_idx, data_batch)
    view.outputs = view._legacy_outputs(outputs)
    self._calls['after_val_iter'](view)


_STAGE_FUNCS = {
    'before_run': _before_run,
    'after_run': _after_run,
    'before_train_epoch': _train_epoch_stage('before_train_epoch',
                                             'before_epoch'),
    'after_train_epoch': _train_epoch_stage('after_train_epoch',
                                            'after_epoch'),
    'before_train_iter': _before_train_iter,
    'after_train_iter': _after_train_iter,
    'before_val_epoch': _val_epoch_stage('before_val_epoch'),
    'after_val_epoch': _val_epoch_stage('after_val_epoch'),
    'before_val_iter': _before_val_iter,
    'after_val_iter': _after_val_iter,
}
HOOKS.register_module(name='LegacyHookBridge', module=LegacyHookBridge)


def bridge_hook(hook: Any, priority: Any = None) -> LegacyHookBridge:
    """An engine hook running the legacy ``hook`` (object or config dict);
    a config's ``priority`` key is honoured."""
    if isinstance(hook, dict) and priority is None:
        priority = hook.get('priority')
    return LegacyHookBridge(hook, priority=priority)


def _convert_hook(hook: Any) -> Optional[Hook]:
    """The engine's hook converter: a bridge for a legacy hook object, or
    for a config whose type is a legacy hook; None for anything else."""
    if isinstance(hook, dict):
        hook_type = hook.get('type')
        if isinstance(hook_type, str):
            if hook_type in HOOKS or find_legacy_hook_type(hook_type) is None:
                return None
        elif not (isinstance(hook_type, type)
                  and not issubclass(hook_type, Hook)
                  and any(hasattr(hook_type, s) for s in MMCV_STAGES)):
            return None
        return bridge_hook(hook)
    if is_legacy_hook(hook):
        return bridge_hook(hook)
    return None


if _convert_hook not in builders.HOOK_CONVERTERS:
    builders.HOOK_CONVERTERS.append(_convert_hook)
