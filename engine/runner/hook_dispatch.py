"""The event core: which hook methods run at each stage, in which order.

Calling every hook at every stage and letting the base class's empty methods
do nothing costs a Python call per hook per event, and the per-iteration
stages fire thousands of times. Instead, for each stage we keep the bound
methods of only the hooks that really implement it, in priority order, and
rebuild those lists when a hook is registered. A stage nobody implements
then costs a dict lookup and an empty loop.

The dispatcher knows nothing about the runner or about a particular hook
base class: the engine runner uses it with :class:`engine.hooks.Hook`
(stage methods take ``runner, **kwargs``) and the legacy runner with the
MMCV-style hook class (stage methods take only ``runner``).
"""
import bisect
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence)

# Base-class stage methods of mmengine's Hook forward to these helpers, so a
# hook that only overrides a helper still takes part in the stages using it.
ENGINE_STAGE_HELPERS: Dict[str, Sequence[str]] = {
    'before_train_epoch': ('_before_epoch', ),
    'before_val_epoch': ('_before_epoch', ),
    'before_test_epoch': ('_before_epoch', ),
    'after_train_epoch': ('_after_epoch', ),
    'after_val_epoch': ('_after_epoch', ),
    'after_test_epoch': ('_after_epoch', ),
    'before_train_iter': ('_before_iter', ),
    'before_val_iter': ('_before_iter', ),
    'before_test_iter': ('_before_iter', ),
    'after_train_iter': ('_after_iter', ),
    'after_val_iter': ('_after_iter', ),
    'after_test_iter': ('_after_iter', ),
}


def overrides(hook: Any, name: str, base: type) -> bool:
    """Whether ``hook`` implements ``name`` itself rather than inheriting the
    no-op of ``base`` (an attribute set on the instance also counts)."""
    attr = getattr(hook, name, None)
    if attr is None:
        return False
    return getattr(attr, '__func__', attr) is not getattr(base, name, None)


class HookDispatcher:
    """Hooks sorted by priority, and per stage the methods that must run.

    Args:
        base: the hook base class whose methods are the no-op defaults.
        stages: the stage names known in advance.
        helpers: for a stage, further method names whose override also means
            the hook takes part in it (see ``ENGINE_STAGE_HELPERS``).
    """

    def __init__(self,
                 base: type,
                 stages: Iterable[str],
                 helpers: Mapping[str, Sequence[str]] = {}) -> None:
        self.base = base
        self.stages = tuple(stages)
        self.helpers = dict(helpers)
        self.hooks: List[Any] = []
        self._priorities: List[int] = []
        # stage -> tuple of bound methods
        self.methods: Dict[str, tuple] = {stage: () for stage in self.stages}

    def add(self, hook: Any, priority: int) -> None:
        """Insert ``hook`` after every hook of the same or higher priority
        (smaller value), so equal priorities keep registration order."""
        index = bisect.bisect_right(self._priorities, priority)
        self._priorities.insert(index, priority)
        self.hooks.insert(index, hook)
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute the per-stage method lists from ``self.hooks``. The
        dict is updated in place (callers may keep a reference to it); its
        tuples are replaced, so a loop over one is never disturbed."""
        extra = [s for s in self.methods if s not in self.stages]
        fresh = {
            stage: self._collect(stage)
            for stage in (*self.stages, *extra)
        }
        self.methods.update(fresh)

    def _collect(self, stage: str) -> tuple:
        names = (stage, *self.helpers.get(stage, ()))
        if stage not in self.stages:  # a custom event: whoever defines it
            return tuple(
                getattr(h, stage) for h in self.hooks
                if callable(getattr(h, stage, None)))
        return tuple(
            getattr(h, stage) for h in self.hooks
            if any(overrides(h, name, self.base) for name in names))

    def methods_for(self, stage: str) -> tuple:
        """Methods for ``stage``; custom stage names are cached on first use."""
        methods = self.methods.get(stage)
        if methods is None:
            methods = self.methods[stage] = self._collect(stage)
        return methods

    def triggered_stages(self, hook: Any) -> List[str]:
        """Known stages in which ``hook`` takes part, in stage order."""
        return [
            stage for stage in self.stages
            if any(overrides(hook, name, self.base)
                   for name in (stage, *self.helpers.get(stage, ())))
        ]

    def call(self, stage: str, runner: Any, **kwargs: Any) -> None:
        """Run ``stage`` on every hook implementing it; a ``TypeError`` (the
        usual sign of a stage method with the wrong signature) is re-raised
        naming the hook."""
        for method in self.methods_for(stage):
            try:
                method(runner, **kwargs)
            except TypeError as e:
                raise hook_error(e, method) from e


def hook_error(error: TypeError, method: Any) -> TypeError:
    """``error`` raised by a stage method, re-raised naming its hook (the
    usual cause is a stage method with the wrong signature)."""
    return TypeError(f'{error} in {getattr(method, "__self__", method)!r}')


def dispatches_with(runner: Any, base: type) -> bool:
    """Whether ``runner`` calls its hooks with ``base.call_hook`` (neither
    its class nor the instance overrides ``call_hook``): a loop may then
    call the methods of its per-iteration stages itself."""
    return (type(runner).call_hook is base.call_hook
            and 'call_hook' not in getattr(runner, '__dict__', ()))


def direct_stages(runner: Any) -> Optional[Mapping[str, tuple]]:
    """The engine runner's stage -> methods mapping, for a loop that calls
    the hooks of its per-iteration stages itself; None when ``runner``
    dispatches differently (a subclass or an instance overriding
    ``call_hook``, or not an engine runner at all).

    Calling the methods directly is what ``Runner.call_hook`` does, minus
    its frame and the packing and unpacking of the keyword arguments: about
    a microsecond per iteration. The mapping is updated in place when hooks
    are registered, so it stays valid for the whole run.
    """
    from .runner import Runner
    if not dispatches_with(runner, Runner):
        return None
    return runner._hook_methods


def describe(dispatcher: HookDispatcher,
             priority_name: Callable[[Any], str]) -> str:
    """Readable table of the hooks run at each stage, for the start-up log."""
    triggered = [(h, set(dispatcher.triggered_stages(h)))
                 for h in dispatcher.hooks]
    blocks = []
    for stage in dispatcher.stages:
        rows = [
            f'({priority_name(h):<12}) {type(h).__name__:<35}'
            for h, stages in triggered if stage in stages
        ]
        if rows:
            blocks.append(f'{stage}:\n' + '\n'.join(rows) +
                          '\n -------------------- ')
    return '\n'.join(blocks)
