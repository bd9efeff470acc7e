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
import weakref
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from engine.hooks import Hook
from engine.registry import HOOKS
from engine.runner import builders
from .adapter import LegacyModelAdapter, _weighted
from .optimizer_proxy import make_optimizer_proxy
from .runner_info import runner_by_epoch, unwrap_model

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


class LogBufferView:
    """mmcv's ``LogBuffer`` interface over the engine's message hub.

    ``update(vars, count)`` records ``value * count`` with ``count`` (the
    weighting mmcv's average uses), under ``<mode>/<name>`` so the engine's
    logger shows it; ``average(n)`` fills ``output`` with mmcv's weighted
    mean of the last ``n`` values (all since :meth:`clear` when 0);
    ``val_history``/``n_history`` show the values and counts since
    :meth:`clear`. The learning-rate entries the engine keeps in the same
    hub are left out, as mmcv's buffer never had them.
    """

    def __init__(self, view: 'LegacyRunnerView'):
        self._view = view
        self.output: 'OrderedDict[str, Any]' = OrderedDict()
        self.ready = False
        self._cleared_at: Dict[str, int] = {}

    def _prefix(self) -> str:
        return f'{self._view.mode or "train"}/'

    def _buffers(self) -> Dict[str, Any]:
        prefix = self._prefix()
        return {
            key[len(prefix):]: buffer
            for key, buffer in self._view.message_hub.log_scalars.items()
            if key.startswith(prefix) and not _is_lr_key(key[len(prefix):])
        }

    def _since_clear(self, key: str, buffer: Any) -> tuple:
        logs, counts = buffer.data
        start = self._cleared_at.get(self._prefix() + key, 0)
        return logs[start:], counts[start:]

    def update(self, vars: dict, count: int = 1) -> None:
        if not isinstance(vars, dict):
            raise TypeError(f'LogBuffer.update expects a dict, got '
                            f'{type(vars).__name__}')
        hub, prefix = self._view.message_hub, self._prefix()
        for key, value in vars.items():
            hub.update_scalar(prefix + key, _weighted(value, count), count)

    @property
    def val_history(self) -> 'OrderedDict[str, list]':
        out = OrderedDict()
        for key, buffer in self._buffers().items():
            logs, counts = self._since_clear(key, buffer)
            out[key] = [float(v) / c for v, c in zip(logs, counts)]
        return out

    @property
    def n_history(self) -> 'OrderedDict[str, list]':
        out = OrderedDict()
        for key, buffer in self._buffers().items():
            out[key] = [int(c) for c in self._since_clear(key, buffer)[1]]
        return out

    def average(self, n: int = 0) -> None:
        if not isinstance(n, int) or n < 0:
            raise ValueError(f'LogBuffer.average(n) needs an int n >= 0, got '
                             f'{n!r}')
        for key, buffer in self._buffers().items():
            logs, counts = self._since_clear(key, buffer)
            if len(logs):
                self.output[key] = logs[-n:].sum() / counts[-n:].sum()
        self.ready = True

    def clear(self) -> None:
        prefix = self._prefix()
        for key, buffer in self._buffers().items():
            self._cleared_at[prefix + key] = len(buffer.data[0])
        self.clear_output()

    def clear_output(self) -> None:
        self.output.clear()
        self.ready = False


def _is_lr_key(name: str) -> bool:
    return name == 'lr' or name.endswith('.lr')


class LegacyRunnerView:
    """What an mmcv hook sees as ``runner``: mmcv's attribute names, backed
    by the engine runner. Attributes mmcv did not have fall through to the
    engine runner (``runner.cfg``, ``runner.message_hub``...); attributes a
    hook sets are kept on the view.

    Counters follow mmcv: ``epoch``/``iter`` as the engine's (they mean the
    same at every stage), ``inner_iter`` the batch index in the current
    epoch (0 on an iteration-based run, as mmcv's IterBasedRunner with the
    default workflow), ``max_epochs`` None on an iteration-based run.
    """

    _views: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()

    def __init__(self, runner: Any):
        object.__setattr__(self, '_runner', runner)
        self.mode: Optional[str] = None
        self.outputs: Any = None
        self.data_batch: Any = None
        self._inner_iter = 0
        self._data_loader = None
        self.meta: dict = {}
        self.log_buffer = LogBufferView(self)
        self._hooks: List[Any] = []
        self._by_epoch: Optional[bool] = None
        self._adapted: Optional[bool] = None

    @classmethod
    def of(cls, runner: Any) -> 'LegacyRunnerView':
        """The view shared by every bridged hook of ``runner``."""
        view = cls._views.get(runner)
        if view is None:
            view = cls._views[runner] = cls(runner)
        return view

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') or name == '_runner':
            raise AttributeError(name)
        return getattr(self._runner, name)

    # ------------------------------------------------------------ counters
    @property
    def by_epoch(self) -> bool:
        if self._by_epoch is None:
            self._by_epoch = runner_by_epoch(self._runner)
        return self._by_epoch

    @property
    def epoch(self) -> int:
        if self.by_epoch:
            return self._runner.epoch
        # mmcv's IterBasedRunner copies its IterLoader's pass count *before*
        # fetching the batch, so it lags one iteration at each new pass.
        loader = self._loader_for('train')
        length = len(loader) if loader is not None else 0
        current = min(self._runner.iter, self._runner.max_iters - 1)
        return max(current - 1, 0) // length if length else 0

    @property
    def iter(self) -> int:
        return self._runner.iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    @property
    def max_epochs(self) -> Optional[int]:
        return self._runner.max_epochs if self.by_epoch else None

    @property
    def max_iters(self) -> int:
        return self._runner.max_iters

    # mmcv's Hook helpers read these private names
    _epoch = epoch
    _iter = iter
    _max_epochs = max_epochs
    _max_iters = max_iters

    @property
    def data_loader(self) -> Any:
        if self._data_loader is None:
            self._data_loader = self._loader_for(self.mode or 'train')
        return self._data_loader

    @data_loader.setter
    def data_loader(self, value: Any) -> None:
        self._data_loader = value

    def _loader_for(self, mode: str) -> Any:
        loop = getattr(self._runner, f'_{mode}_loop', None)
        return getattr(loop, 'dataloader', None)

    # --------------------------------------------------------------- state
    @property
    def model(self) -> Any:
        return self._runner.model

    @property
    def model_name(self) -> str:
        model = unwrap_model(self._runner.model)
        cls = getattr(model, '_compat_legacy_cls', type(model))
        return cls.__name__

    @property
    def optimizer(self) -> Any:
        """The optimizer(s) as the model sees them: proxies backed by the
        engine's optimizer wrapper (a dict of them for several)."""
        model = unwrap_model(self._runner.model)
        cached = model.__dict__.get('_compat_proxy_cache')
        wrapper = self._runner.optim_wrapper
        if cached is not None and cached[0] is wrapper:
            return cached[1]
        own = self.__dict__.get('_optimizer_proxy')
        if own is None or own[0] is not wrapper:
            own = (wrapper, make_optimizer_proxy(wrapper, self.model_name))
            object.__setattr__(self, '_optimizer_proxy', own)
        return own[1]

    @property
    def hooks(self) -> List[Any]:
        """The legacy hooks bridged into this runner."""
        return self._hooks

    @property
    def work_dir(self) -> Any:
        return self._runner.work_dir

    @property
    def logger(self) -> Any:
        return self._runner.logger

    @property
    def rank(self) -> int:
        return self._runner.rank

    @property
    def world_size(self) -> int:
        return self._runner.world_size

    def current_lr(self) -> Any:
        """mmcv's ``runner.current_lr()``: a list, or a dict of lists."""
        return _per_optimizer(self.optimizer,
                              lambda g: g['lr'])

    def current_momentum(self) -> Any:
        """mmcv's ``runner.current_momentum()`` (``betas[0]`` for Adam-like
        optimizers, 0 when there is none)."""
        def momentum(group: dict) -> Any:
            if 'momentum' in group:
                return group['momentum']
            if 'betas' in group:
                return group['betas'][0]
            return 0
        return _per_optimizer(self.optimizer, momentum)

    def call_hook(self, fn_name: str) -> None:
        """Call ``fn_name`` of every bridged legacy hook, as mmcv did for
        all of its hooks."""
        for hook in self._hooks:
            getattr(hook, fn_name)(self)

    def register_hook(self, hook: Any, priority: Any = 'NORMAL') -> None:
        """Register another legacy hook (bridged) with the engine runner."""
        self._runner.register_hook(bridge_hook(hook, priority=priority))

    def save_checkpoint(self,
                        out_dir: str,
                        filename_tmpl: Optional[str] = None,
                        save_optimizer: bool = True,
                        meta: Optional[dict] = None,
                        create_symlink: bool = True) -> None:
        """mmcv's signature on the engine's (atomic) checkpoint writer; the
        file is named as mmcv names it (``epoch_{epoch + 1}.pth`` or
        ``iter_{iter + 1}.pth``)."""
        if self.by_epoch:
            filename = (filename_tmpl or 'epoch_{}.pth').format(self.epoch + 1)
        else:
            filename = (filename_tmpl or 'iter_{}.pth').format(self.iter + 1)
        self._runner.save_checkpoint(
            out_dir,
            filename,
            save_optimizer=save_optimizer,
            meta=meta,
            by_epoch=self.by_epoch)

    # ------------------------------------------- updated by the bridges
    def _enter(self, mode: str, inner_iter: int, data_batch: Any) -> None:
        if self.mode != mode:
            self.mode = mode
            self._data_loader = None
        self._inner_iter = inner_iter
        self.data_batch = data_batch

    def _legacy_outputs(self, outputs: Any) -> Any:
        """What mmcv's ``runner.outputs`` was: the adapted model's own
        output dict; for an engine model its ``log_vars`` under mmcv's
        keys."""
        if self._adapted is None:
            self._adapted = isinstance(
                unwrap_model(self._runner.model), LegacyModelAdapter)
        if self._adapted:
            return unwrap_model(self._runner.model)._compat_last_outputs
        if isinstance(outputs, dict):
            return dict(outputs, log_vars=outputs)
        return outputs

    def __repr__(self) -> str:
        return f'<LegacyRunnerView of {self._runner!r}>'


def _per_optimizer(optimizer: Any, get: Any) -> Any:
    if isinstance(optimizer, dict):
        return {
            name: [get(g) for g in optim.param_groups]
            for name, optim in optimizer.items()
        }
    return [get(g) for g in optimizer.param_groups]


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
        engine_stages = frozenset(_STAGE_MAP[s]
                                  for s in _triggered_stages(legacy))
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


_STAGE_MAP = {s: s for s in MMCV_STAGES}
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
