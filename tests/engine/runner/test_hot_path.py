"""The per-iteration path's shortcuts keep the behaviour they short-cut:
loops calling hook methods directly, the logger skipping records nobody
takes, the model skipping a null context."""
import contextlib
import logging

import pytest
import torch

from engine.hooks import Hook
from engine.logging import MMLogger
from engine.optim import OptimWrapper
from engine.runner import Runner
from runner_helpers import ToyModel, runner_kwargs, unique


class IterLog(Hook):
    """Records every train iteration it sees."""

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(('before', runner.iter, batch_idx))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.seen.append(('after', runner.iter, batch_idx, sorted(outputs)))


def _train(tmp_path, name, runner_cls=Runner, **overrides):
    kwargs = runner_kwargs(tmp_path, name, val_dataloader=None, val_cfg=None,
                           val_evaluator=None, **overrides)
    runner = runner_cls(**kwargs)
    hook = IterLog()
    runner.register_hook(hook)
    runner.train()
    return runner, hook.seen


@pytest.mark.parametrize('train_cfg', [
    dict(by_epoch=True, max_epochs=2),
    dict(by_epoch=False, max_iters=6, val_interval=100)])
def test_overridden_call_hook_sees_the_same_calls(tmp_path, train_cfg):
    calls = []

    class Spying(Runner):
        def call_hook(self, fn_name, **kwargs):
            calls.append(fn_name)
            super().call_hook(fn_name, **kwargs)

    _, direct = _train(tmp_path, 'direct', train_cfg=train_cfg)
    _, spied = _train(tmp_path, 'spied', Spying, train_cfg=train_cfg)
    iterations = 8 if train_cfg['by_epoch'] else 6
    assert len(direct) == 2 * iterations and direct == spied
    assert calls.count('before_train_iter') == iterations
    assert calls.count('after_train_iter') == iterations


def test_hook_registered_mid_run_joins_at_the_next_iteration(tmp_path):
    late = IterLog()

    class Registrar(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter == 2:
                runner.register_hook(late)

    _train(tmp_path, 'late', custom_hooks=[Registrar()])
    assert [entry[1] for entry in late.seen][:2] == [3, 3]
    assert len(late.seen) == 2 * (8 - 3)


def test_stage_method_with_a_wrong_signature_is_named(tmp_path):
    class Bad(Hook):
        def after_train_iter(self, runner):
            pass

    runner = Runner(**runner_kwargs(tmp_path, 'bad', custom_hooks=[Bad()]))
    with pytest.raises(TypeError, match='Bad'):
        runner.train()


def test_logger_builds_no_record_that_nothing_takes(tmp_path):
    logger = MMLogger.get_instance(unique('quiet'), log_level='WARNING',
                                   log_file=str(tmp_path / 'quiet.log'))
    assert not logger.isEnabledFor(logging.INFO)
    assert logger.isEnabledFor(logging.WARNING)
    seen = []
    logger.addFilter(lambda record: seen.append(record.msg) or True)
    assert logger.isEnabledFor(logging.INFO)  # the filter must see it
    logger.info('filtered')
    assert seen == ['filtered']
    logger.filters.clear()
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    logger.info('handled')
    assert seen == ['filtered', 'handled']
    logger.disabled = True
    assert not logger.isEnabledFor(logging.ERROR)


class EnteredContext(OptimWrapper):
    """An optimizer wrapper whose forward context does something."""

    entered = 0

    def optim_context(self, model):
        @contextlib.contextmanager
        def context():
            type(self).entered += 1
            with torch.no_grad():
                yield
        return context()


def test_a_real_optim_context_is_still_entered():
    model = ToyModel()
    wrapper = EnteredContext(torch.optim.SGD(model.parameters(), lr=0.1))
    batch = (torch.ones(4, 2), torch.zeros(4, 1))
    with pytest.raises(RuntimeError, match='grad'):
        # under no_grad the loss has no graph: proof the context was entered
        model.train_step(batch, wrapper)
    assert EnteredContext.entered == 1
    plain = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(batch, plain)
    assert not log_vars['loss'].requires_grad


def test_data_preprocessor_property_behaves_like_a_submodule():
    from engine.model import BaseDataPreprocessor, BaseModel

    class Bare(BaseModel):
        def __init__(self):
            torch.nn.Module.__init__(self)  # BaseModel.__init__ skipped

        def forward(self, inputs, mode='tensor'):
            return inputs

    bare = Bare()
    assert not hasattr(bare, 'data_preprocessor')
    with pytest.raises(TypeError, match='nn.Module'):
        bare.data_preprocessor = 'not a module'
    bare.data_preprocessor = BaseDataPreprocessor()
    assert 'data_preprocessor' in dict(bare.named_children())
    model = ToyModel()
    model.data_preprocessor = None
    assert model.data_preprocessor is None
