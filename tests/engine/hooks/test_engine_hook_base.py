"""Hook base class, priorities, and how the runner's dispatcher sees hooks."""
import pytest

from engine.hooks import Hook, Priority, get_priority
from engine.runner.hook_dispatch import ENGINE_STAGE_HELPERS, HookDispatcher


class Runner:
    """Just the counters the helpers read."""

    def __init__(self, epoch=0, iter=0, max_epochs=3, max_iters=10):
        self.epoch, self.iter = epoch, iter
        self.max_epochs, self.max_iters = max_epochs, max_iters


class EveryIter(Hook):
    """Overrides only the mode-generic helper."""

    def __init__(self):
        self.calls = []

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None,
                    mode='train'):
        self.calls.append((mode, batch_idx, outputs))

    def _after_epoch(self, runner, mode='train'):
        self.calls.append((mode, 'epoch'))


def test_helper_overrides_feed_every_public_stage():
    hook = EveryIter()
    runner = Runner()
    hook.after_train_iter(runner, 0, outputs=dict(loss=1))
    hook.after_val_iter(runner, batch_idx=1, data_batch=None, outputs=[2])
    hook.after_test_iter(runner, 2)
    hook.after_val_epoch(runner, metrics=dict(acc=1.))
    assert hook.calls == [('train', 0, dict(loss=1)), ('val', 1, [2]),
                          ('test', 2, None), ('val', 'epoch')]
    assert sorted(hook.get_triggered_stages()) == sorted([
        'after_train_iter', 'after_val_iter', 'after_test_iter',
        'after_train_epoch', 'after_val_epoch', 'after_test_epoch'
    ])
    assert Hook().get_triggered_stages() == []


def test_dispatcher_runs_only_overriding_hooks_in_priority_order():
    order = []

    class Low(Hook):
        priority = 'LOW'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            order.append('low')

    class High(EveryIter):
        priority = 'HIGH'

        def _after_iter(self, *args, **kwargs):
            order.append('high')

    dispatcher = HookDispatcher(Hook, Hook.stages, ENGINE_STAGE_HELPERS)
    for hook in (Low(), Hook(), High()):
        dispatcher.add(hook, get_priority(hook.priority))
    dispatcher.call('after_train_iter', Runner(), batch_idx=0,
                    data_batch=None, outputs=None)
    assert order == ['high', 'low']
    assert dispatcher.methods_for('before_train_iter') == ()


def test_trigger_helpers():
    hook = Hook()
    assert hook.every_n_epochs(Runner(epoch=1), 2)
    assert not hook.every_n_epochs(Runner(epoch=1), 2, start=1)
    assert not hook.every_n_epochs(Runner(epoch=1), 0)
    assert hook.every_n_inner_iters(3, 4)
    assert not hook.every_n_inner_iters(3, 0)
    assert hook.every_n_train_iters(Runner(iter=9), 5)
    assert not hook.every_n_train_iters(Runner(iter=2), 5, start=4)
    assert hook.end_of_epoch([0, 1, 2], 2) and not hook.end_of_epoch([0, 1], 0)
    assert hook.is_last_train_epoch(Runner(epoch=2))
    assert hook.is_last_train_iter(Runner(iter=9))


def test_get_priority():
    assert get_priority(Priority.HIGH) == 30
    assert get_priority('very_low') == 90
    assert get_priority(0) == 0 and get_priority(100) == 100
    with pytest.raises(ValueError, match='between 0 and 100, but got 101'):
        get_priority(101)
    with pytest.raises(ValueError, match="unknown priority name 'URGENT'"):
        get_priority('URGENT')
    with pytest.raises(TypeError, match='but got float: 1.5'):
        get_priority(1.5)
    with pytest.raises(TypeError, match='bool'):
        get_priority(True)
