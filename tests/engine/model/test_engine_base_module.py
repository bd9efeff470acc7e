"""BaseModule.init_weights: configs, pretrained weights, errors, report."""
import io
import logging
import uuid

import pytest
import torch
import torch.nn as nn

from engine.logging import MMLogger
from engine.model import BaseModule, initialize


class Net(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.backbone = nn.Linear(2, 3)
        self.head = nn.Linear(3, 1)


def test_constant_by_layer_and_override_by_name():
    net = Net(dict(type='Constant', layer='Linear', val=1, bias=2,
                   override=dict(type='Constant', name='head', val=3)))
    net.init_weights()
    assert net.backbone.weight.eq(1).all() and net.backbone.bias.eq(2).all()
    assert net.head.weight.eq(3).all() and net.head.bias.eq(0).all()
    assert net.is_init


@pytest.fixture
def log_output():
    """A fresh current MMLogger; returns a function giving what was logged
    since its last call."""
    logger = MMLogger.get_instance(
        f'test_engine_base_module_{uuid.uuid4().hex}')
    stream = io.StringIO()
    logger.handlers.append(logging.StreamHandler(stream))

    def read():
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return text

    return read


def test_second_init_weights_warns_and_changes_nothing(log_output):
    net = Net(dict(type='Constant', layer='Linear', val=1))
    net.init_weights()
    net.backbone.weight.data.fill_(5)
    log_output()
    net.init_weights()
    assert net.backbone.weight.eq(5).all()
    assert 'init_weights of Net has been called more than once' in \
        log_output()


def test_pretrained_loads_last_and_with_prefix(tmp_path):
    source = Net()
    source.backbone.weight.data.fill_(0.25)
    path = str(tmp_path / 'pretrained.pth')
    torch.save(dict(state_dict=source.state_dict()), path)

    net = Net([dict(type='Pretrained', checkpoint=path),
               dict(type='Constant', layer='Linear', val=9)])
    net.init_weights()
    # the pretrained weights win over the other initializer
    assert torch.equal(net.backbone.weight, source.backbone.weight)
    assert torch.equal(net.head.weight, source.head.weight)

    head_only = BaseModule(
        dict(type='Pretrained', checkpoint=path, prefix='backbone'))
    head_only.weight = nn.Parameter(torch.zeros(3, 2))
    head_only.bias = nn.Parameter(torch.zeros(3))
    head_only.init_weights()
    assert head_only.weight.eq(0.25).all()


def test_pretrained_prefix_absent_is_an_error(tmp_path):
    path = str(tmp_path / 'pretrained.pth')
    torch.save(Net().state_dict(), path)
    net = Net(dict(type='Pretrained', checkpoint=path, prefix='neck.'))
    with pytest.raises(ValueError, match="no entry starts with 'neck.'"):
        net.init_weights()


@pytest.mark.parametrize('cfg, error, match', [
    (dict(type='Constant', val=1, layer='Linear', override=dict(val=2)),
     ValueError, 'needs a "name" key'),
    (dict(type='Constant', val=1, layer='Linear',
          override=dict(name='head', val=2)), ValueError, 'needs a "type"'),
    (dict(type='Constant', val=1, override=dict(name='neck')), RuntimeError,
     "Net has no sub-module 'neck'"),
    (dict(type='Constant', val=1, layer=3), TypeError,
     '`layer` must be a str or a list of str'),
    (dict(type='Xavier', layer='Linear', distribution='gauss'), ValueError,
     "distribution should be 'uniform' or 'normal'"),
    (dict(type='Constnt', val=1), KeyError, 'Constant'),
    (['Constant'], TypeError, 'must be a dict with a "type" key'),
])
def test_bad_init_cfg(cfg, error, match):
    with pytest.raises(error, match=match):
        Net(cfg).init_weights()


def test_init_cfg_selecting_nothing_warns(log_output):
    net = Net()
    before = net.head.weight.detach().clone()
    initialize(net, dict(type='Constant', val=1))
    assert torch.equal(net.head.weight, before)
    assert 'has neither `layer` nor `override`' in log_output()


def test_init_report_goes_to_the_log_file(tmp_path):
    log_file = tmp_path / 'init.log'
    # the newest MMLogger is the current one, which receives the report
    logger = MMLogger.get_instance(
        'test_engine_base_module_report', log_file=str(log_file))
    Net(dict(type='Constant', layer='Linear', val=1)).init_weights()
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text()
    assert 'head.weight - torch.Size([1, 3])' in text
    assert 'ConstantInit: val=1, bias=0' in text
