"""OptimWrapper.zero_grad and .step skip torch's profiler bookkeeping for
stock optimizers when nothing could observe it, and go through torch
whenever something could: arguments, an overriding optimizer, step hooks, a
running profiler, a step replaced on the instance."""
import pytest
import torch
import torch.nn as nn

from torch.optim.optimizer import register_optimizer_step_post_hook

from engine.optim import OptimWrapper
from engine.optim.torch_shortcuts import optimizer_step


def _model_with_grads():
    model = nn.Linear(3, 2)
    model(torch.ones(4, 3)).sum().backward()
    return model


def test_stock_optimizer_grads_become_none():
    model = _model_with_grads()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_arguments_go_through_torch():
    model = _model_with_grads()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any()
               for p in model.parameters())


def test_overriding_optimizer_is_called():
    calls = []

    class CountingSGD(torch.optim.SGD):
        def zero_grad(self, set_to_none=True):
            calls.append(set_to_none)
            super().zero_grad(set_to_none)

    model = _model_with_grads()
    wrapper = OptimWrapper(CountingSGD(model.parameters(), lr=0.1))
    wrapper.zero_grad()
    assert calls == [True]
    assert all(p.grad is None for p in model.parameters())


def test_training_equals_plain_torch_loop():
    torch.manual_seed(0)
    a = nn.Linear(4, 1)
    b = nn.Linear(4, 1)
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.SGD(a.parameters(), lr=0.05, momentum=0.9)
    wrapper = OptimWrapper(torch.optim.SGD(b.parameters(), lr=0.05,
                                           momentum=0.9))
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    for _ in range(5):
        loss = (a(x) - y).pow(2).mean()
        loss.backward()
        opt_a.step()
        opt_a.zero_grad()
        wrapper.update_params((b(x) - y).pow(2).mean())
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


OPTIMIZERS = [
    (torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (torch.optim.Adam, dict(lr=0.01)),
    (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    (torch.optim.RMSprop, dict(lr=0.01)),
]


@pytest.mark.parametrize('cls, kwargs', OPTIMIZERS)
def test_unprofiled_step_updates_exactly_like_torch(cls, kwargs):
    torch.manual_seed(0)
    a, b = nn.Linear(4, 2), nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = cls(a.parameters(), **kwargs), cls(b.parameters(), **kwargs)
    x = torch.randn(8, 4)
    for _ in range(4):
        a(x).pow(2).mean().backward()
        b(x).pow(2).mean().backward()
        opt_a.step()
        optimizer_step(opt_b)
        opt_a.zero_grad()
        opt_b.zero_grad()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert str(opt_a.state_dict()) == str(opt_b.state_dict())


def test_closure_is_passed_and_its_loss_returned():
    model = _model_with_grads()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def closure():
        calls.append(1)
        return torch.tensor(3.0)

    assert optimizer_step(opt, closure=closure).item() == 3.0
    assert calls == [1]


def test_step_hooks_still_run():
    model = _model_with_grads()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    handle = opt.register_step_pre_hook(lambda o, a, k: seen.append('pre'))
    opt.register_step_post_hook(lambda o, a, k: seen.append('post'))
    OptimWrapper(opt).step()
    assert seen == ['pre', 'post']
    handle.remove()
    global_handle = register_optimizer_step_post_hook(
        lambda o, a, k: seen.append('global'))
    try:
        OptimWrapper(opt).step()
    finally:
        global_handle.remove()
    assert seen == ['pre', 'post', 'post', 'global']


def test_a_running_profiler_sees_the_step_and_zero_grad():
    model = _model_with_grads()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with torch.profiler.profile(activities=[
            torch.profiler.ProfilerActivity.CPU]) as prof:
        wrapper.step()
        wrapper.zero_grad()
    names = {event.name for event in prof.events()}
    assert 'Optimizer.step#SGD.step' in names
    assert 'Optimizer.zero_grad#SGD.zero_grad' in names


def test_torch_lr_scheduler_sees_the_step():
    """torch's LRScheduler replaces ``optimizer.step`` on the instance to
    warn about a wrong call order; that replacement must be called."""
    model = _model_with_grads()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    OptimWrapper(opt).step()
    assert opt._opt_called
    scheduler.step()  # no "lr_scheduler.step() before optimizer.step()"


def test_optimizer_with_its_own_step_is_called():
    calls = []

    class Own(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):  # not decorated by torch
            calls.append(1)

    model = _model_with_grads()
    OptimWrapper(Own(model.parameters())).step()
    assert calls == [1]
