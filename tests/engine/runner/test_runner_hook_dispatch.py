"""The event core: order, selection of implementing hooks, custom stages."""
import pytest

from engine.hooks import Hook
from engine.runner.hook_dispatch import (ENGINE_STAGE_HELPERS,
                                         HookDispatcher, describe)


class Recorder(Hook):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def before_run(self, runner):
        self.log.append(self.name)


class HelperOnly(Hook):
    """Overrides only the mode-generic helper."""

    def __init__(self, log):
        self.log = log

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None,
                    mode='train'):
        self.log.append(mode)


def _dispatcher():
    return HookDispatcher(Hook, Hook.stages, ENGINE_STAGE_HELPERS)


def test_priority_order_is_stable_for_equal_priorities():
    log = []
    d = _dispatcher()
    d.add(Recorder('low', log), 70)
    d.add(Recorder('first50', log), 50)
    d.add(Recorder('high', log), 10)
    d.add(Recorder('second50', log), 50)
    d.call('before_run', runner=None)
    assert log == ['high', 'first50', 'second50', 'low']


def test_only_implementing_hooks_are_listed():
    log = []
    d = _dispatcher()
    d.add(Hook(), 50)
    d.add(Recorder('r', log), 50)
    d.add(HelperOnly(log), 50)
    assert len(d.methods['before_run']) == 1
    assert d.methods['after_train_epoch'] == ()
    assert len(d.methods['after_val_iter']) == 1
    d.call('after_test_iter', None, batch_idx=0)
    assert log == ['test']


def test_instance_attribute_counts_as_override():
    calls = []
    hook = Hook()
    hook.after_train = lambda runner: calls.append(runner)
    d = _dispatcher()
    d.add(hook, 50)
    d.call('after_train', 'runner')
    assert calls == ['runner']


def test_custom_stage_and_rebuild_on_registration():
    class Custom(Hook):
        def after_custom(self, runner, value):
            runner.append(value)

    d = _dispatcher()
    out = []
    d.call('after_custom', out, value=1)  # nobody defines it yet
    d.add(Custom(), 50)
    d.call('after_custom', out, value=2)
    assert out == [2]


def test_wrong_signature_names_the_hook():
    class Bad(Hook):
        def after_train_iter(self, runner):  # missing batch_idx & co.
            pass

    d = _dispatcher()
    d.add(Bad(), 50)
    with pytest.raises(TypeError, match='Bad'):
        d.call('after_train_iter', None, batch_idx=0, data_batch=None,
               outputs=None)


def test_generic_over_another_base_class():
    class OldHook:  # MMCV style: stage methods take only the runner
        def before_epoch(self, runner):
            pass

        def after_epoch(self, runner):
            pass

    class Counting(OldHook):
        def after_epoch(self, runner):
            runner.append('after')

    d = HookDispatcher(OldHook, ('before_epoch', 'after_epoch'))
    d.add(OldHook(), 50)
    d.add(Counting(), 50)
    log = []
    d.call('after_epoch', log)
    d.call('before_epoch', log)
    assert log == ['after']
    assert d.triggered_stages(Counting()) == ['after_epoch']


def test_describe_lists_hooks_per_stage():
    d = _dispatcher()
    d.add(Recorder('r', []), 50)
    text = describe(d, lambda h: 'NORMAL')
    assert text.startswith('before_run:\n(NORMAL      ) Recorder')
