"""auto_fp16 / force_fp32 / wrap_fp16_model / LossScaler on the CPU."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

import legacy
from legacy.fp16_utils import cast_tensor_type


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.fp16_enabled = False
        self.linear = nn.Linear(2, 2)
        self.seen = {}

    @legacy.auto_fp16(apply_to=('x', ), out_fp32=True)
    def forward(self, x, y=None, flag=True):
        self.seen['forward'] = (x.dtype, None if y is None else y.dtype)
        return self.linear(x)

    @legacy.auto_fp16()
    def everything(self, x, y):
        self.seen['everything'] = (x.dtype, y.dtype)
        return x

    @legacy.force_fp32(apply_to=('pred', ), out_fp16=True)
    def loss(self, pred, target):
        self.seen['loss'] = (pred.dtype, target.dtype)
        return pred * 2


def test_decorators_do_nothing_until_enabled():
    net = Net()
    x = torch.ones(1, 2)
    assert net(x).dtype == torch.float32
    assert net.seen['forward'] == (torch.float32, None)
    assert net.loss(x.half(), x).dtype == torch.float16


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_decorators_cast_and_autocast_once_wrapped(dtype):
    net = Net()
    legacy.wrap_fp16_model(net, dtype)
    x = torch.ones(1, 2)
    y = torch.ones(1, 2)
    out = net(x, y=y)
    # only 'x' is cast; the linear layer runs under autocast; out_fp32
    assert net.seen['forward'] == (dtype, torch.float32)
    assert out.dtype == torch.float32
    net.everything(x, y)
    assert net.seen['everything'] == (dtype, dtype)
    result = net.loss(x.to(dtype), y.to(dtype))
    assert net.seen['loss'] == (torch.float32, dtype)
    assert result.dtype == dtype  # out_fp16
    assert net.linear.weight.dtype == torch.float32


def test_wrap_fp16_model_arguments():
    net = Net()
    legacy.wrap_fp16_model(net)
    assert net.fp16_enabled and net.fp16_dtype == torch.float16
    legacy.wrap_fp16_model(net, 'bfloat16')
    assert net.fp16_dtype == torch.bfloat16
    with pytest.raises(ValueError, match='float16 or bfloat16'):
        legacy.wrap_fp16_model(net, torch.float32)


def test_decorators_only_on_module_methods():

    class NotAModule:

        @legacy.auto_fp16()
        def f(self, x):
            return x

        @legacy.force_fp32()
        def g(self, x):
            return x

    with pytest.raises(TypeError, match='auto_fp16'):
        NotAModule().f(torch.ones(1))
    with pytest.raises(TypeError, match='force_fp32'):
        NotAModule().g(torch.ones(1))


def test_cast_tensor_type_keeps_structure():
    data = OrderedDict(
        a=[torch.ones(1), (torch.ones(1, dtype=torch.int64), 'text')],
        b=np.ones(1))
    cast = cast_tensor_type(data, torch.float32, torch.float16)
    assert isinstance(cast, OrderedDict)
    assert cast['a'][0].dtype == torch.float16
    assert cast['a'][1][0].dtype == torch.int64
    assert cast['a'][1][1] == 'text'
    assert cast['b'] is data['b']


def test_loss_scaler_dynamic_and_static():
    scaler = legacy.LossScaler(init_scale=8., scale_window=2)
    param = nn.Parameter(torch.ones(1))
    param.grad = torch.tensor([float('inf')])
    assert scaler.has_overflow([param])
    scaler.update_scale(True)
    assert scaler.loss_scale == 4.
    scaler.update_scale(False)
    scaler.update_scale(False)
    assert scaler.loss_scale == 8.
    state = scaler.state_dict()
    other = legacy.LossScaler()
    other.load_state_dict(state)
    assert other.state_dict() == state
    static = legacy.LossScaler(init_scale=4., mode='static')
    assert not static.has_overflow([param])
    static.update_scale(True)
    assert static.loss_scale == 4.
    with pytest.raises(ValueError, match='dynamic'):
        legacy.LossScaler(mode='auto')
