"""OptimWrapper.zero_grad sets gradients to None itself for stock torch
optimizers (skipping torch's per-call profiler record) and defers to any
optimizer that overrides zero_grad or is given arguments."""
import torch
import torch.nn as nn

from engine.optim import OptimWrapper


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
