"""MessageHub: scalars, runtime info, resumed keys, safe checkpoint state."""
import logging
from collections import OrderedDict

import numpy as np
import pytest
import torch

from engine.logging import HistoryBuffer, MessageHub


def test_get_instance_and_current(unique_name):
    hub = MessageHub.get_instance(unique_name)
    assert MessageHub.get_instance(unique_name) is hub
    assert MessageHub.get_current_instance() is hub
    assert hub.instance_name == unique_name
    with pytest.warns(UserWarning, match='already exists'):
        MessageHub.get_instance(unique_name, runtime_info=dict(a=1))


def test_scalars_and_info(unique_name):
    hub = MessageHub.get_instance(unique_name)
    hub.update_scalar('train/loss', 1.0)
    hub.update_scalar('train/loss', torch.tensor(3.0), count=1)
    hub.update_scalars({'train/acc': 0.5, 'train/w': dict(value=4.0,
                                                          count=2)})
    assert hub.get_scalar('train/loss').mean() == 2.0
    assert hub.get_scalar('train/w').mean() == 2.0
    hub.update_info('epoch', 3)
    hub.update_info_dict(dict(iter=10, meta=dict(classes=('a', 'b'))))
    assert hub.get_info('epoch') == 3 and hub.get_info('nope', 7) == 7
    assert hub.pop_info('iter') == 10 and hub.get_info('iter') is None
    assert list(hub.log_scalars) == ['train/loss', 'train/acc', 'train/w']
    assert isinstance(hub.runtime_info, OrderedDict)
    with pytest.raises(KeyError, match='train/loss'):
        hub.get_scalar('val/loss')


def test_resumed_flag_cannot_change(unique_name):
    hub = MessageHub.get_instance(unique_name)
    hub.update_scalar('x', 1.0, resumed=False)
    with pytest.raises(ValueError, match='resumed'):
        hub.update_scalar('x', 1.0, resumed=True)
    hub.update_info('y', 1, resumed=False)
    with pytest.raises(ValueError, match='resumed'):
        hub.update_info('y', 2)


@pytest.mark.parametrize('call', [
    lambda hub: hub.update_scalar('x', 1.0, count=1.5),
    lambda hub: hub.update_scalars([('x', 1.0)]),
    lambda hub: hub.update_info_dict(['x']),
])
def test_bad_arguments_are_type_errors(unique_name, call):
    with pytest.raises(TypeError):
        call(MessageHub.get_instance(unique_name))


def test_update_scalars_needs_value_key(unique_name):
    with pytest.raises(KeyError, match='value'):
        MessageHub.get_instance(unique_name).update_scalars(
            {'x': dict(count=2)})


def test_constructor_validates_inputs(unique_name):
    with pytest.raises(TypeError, match='HistoryBuffer'):
        MessageHub(unique_name, log_scalars=dict(loss=[1.0]))
    with pytest.raises(KeyError, match='ghost'):
        MessageHub(unique_name, resumed_keys=dict(ghost=True))
    with pytest.raises(TypeError, match='runtime_info'):
        MessageHub(unique_name, runtime_info=[1])


def test_state_dict_survives_weights_only_load(tmp_path, unique_name):
    hub = MessageHub.get_instance(unique_name)
    for i in range(5):
        hub.update_scalar('train/loss', torch.tensor(1 / (i + 1)))
        hub.update_scalar('train/int', i)
        hub.update_scalar('train/skip', 1.0, resumed=False)
    hub.update_info('epoch', 2)
    hub.update_info('seed', np.int64(42))
    hub.update_info('dataset_meta',
                    dict(classes=('cat', 'dog'), palette=np.array([[1, 2]])))
    hub.update_info('lr_tensor', torch.tensor([0.1, 0.2]))
    hub.update_info('scratch', object(), resumed=False)
    path = tmp_path / 'hub.pth'
    torch.save(hub.state_dict(), path)
    state = torch.load(path, weights_only=True)

    restored = MessageHub.get_instance(unique_name + '-restored')
    restored.load_state_dict(state)
    assert 'train/skip' not in restored.log_scalars
    assert 'scratch' not in restored.runtime_info
    for key in ('train/loss', 'train/int'):
        ours, theirs = hub.get_scalar(key).data, restored.get_scalar(key).data
        assert ours[0].dtype == theirs[0].dtype
        assert np.array_equal(ours[0], theirs[0])
        assert np.array_equal(ours[1], theirs[1])
    assert restored.get_info('seed') == 42
    assert type(restored.get_info('seed')) is int
    assert restored.get_info('dataset_meta') == dict(
        classes=('cat', 'dog'), palette=[[1, 2]])
    assert torch.equal(restored.get_info('lr_tensor'), torch.tensor([0.1,
                                                                     0.2]))
    restored.update_scalar('train/loss', 0.5)
    assert restored.get_scalar('train/loss').current() == 0.5


def test_unsafe_runtime_info_is_skipped_with_a_warning(unique_name):
    from engine.logging import MMLogger
    logger = MMLogger.get_instance(unique_name + '-logger')
    hub = MessageHub.get_instance(unique_name)
    hub.update_info('handle', object())
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.handlers.append(handler)
    state = hub.state_dict()
    assert 'handle' not in state['runtime_info']
    assert any("runtime_info['handle']" in r.getMessage() for r in records)


def test_load_state_dict_accepts_buffers_and_hubs(unique_name):
    source = MessageHub.get_instance(unique_name)
    source.update_scalar('loss', 1.0)
    source.update_info('epoch', 1)
    target = MessageHub.get_instance(unique_name + '-target')
    target.load_state_dict(source)
    assert target.get_scalar('loss').current() == 1.0
    target.update_scalar('loss', 3.0)
    assert source.get_scalar('loss').current() == 1.0
    other = MessageHub.get_instance(unique_name + '-other')
    other.load_state_dict(dict(log_scalars=dict(loss=HistoryBuffer([2.0],
                                                                   [1])),
                               runtime_info={}, resumed_keys=dict(loss=True)))
    assert other.get_scalar('loss').current() == 2.0


@pytest.mark.parametrize('state, error', [
    ([1, 2], TypeError),
    (dict(log_scalars={}), KeyError),
])
def test_load_state_dict_rejects_bad_state(unique_name, state, error):
    with pytest.raises(error):
        MessageHub.get_instance(unique_name).load_state_dict(state)
