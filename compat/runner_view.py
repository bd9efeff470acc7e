"""What an MMCV hook sees as ``runner`` inside the engine: mmcv's runner
attributes and ``LogBuffer``, backed by the engine runner and its message
hub (used by :mod:`compat.hook_bridge`)."""
import weakref
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from engine.logging import weighted_value

from .adapter import LegacyModelAdapter
from .optimizer_proxy import make_optimizer_proxy
from .runner_info import runner_by_epoch, unwrap_model

__all__ = ['LegacyRunnerView', 'LogBufferView']


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
            hub.update_scalar(prefix + key, weighted_value(value, count),
                              count)

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

    Counters follow mmcv: ``epoch``/``iter`` as the engine's on an
    epoch-based run (they mean the same at every stage); on an
    iteration-based run ``epoch`` counts the passes over the data the way
    mmcv's IterBasedRunner did (one iteration late at each new pass),
    ``inner_iter`` is 0 (its default workflow restarts it every iteration)
    and ``max_epochs`` is None.
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
        self._unwrapped: tuple = (None, None)  # (runner.model, inner model)

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
        from .hook_bridge import bridge_hook
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
        model = self._runner.model
        if self._unwrapped[0] is not model:
            self._unwrapped = (model, unwrap_model(model))
        inner = self._unwrapped[1]
        if isinstance(inner, LegacyModelAdapter):
            return inner._compat_last_outputs
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
