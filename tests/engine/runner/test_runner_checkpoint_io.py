"""Checkpoint files: atomic saves, safe and well-reported loads, weights."""
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn

from engine.runner import (CheckpointLoadError, CheckpointSaveError,
                           find_latest_checkpoint, get_state_dict,
                           load_checkpoint, load_checkpoint_file,
                           load_state_dict, save_checkpoint, weights_to_cpu)
from engine.runner import checkpoint as ckpt_module
from engine.runner.checkpoint import write_text_atomic


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_save_then_load_round_trip_is_safe(tmp_path):
    net = _net()
    path = tmp_path / 'sub' / 'a.pth'
    save_checkpoint({'state_dict': net.state_dict(), 'meta': {'epoch': 1}},
                    str(path))
    loaded = load_checkpoint_file(str(path))  # weights_only=True
    assert loaded['meta'] == {'epoch': 1}
    assert torch.equal(loaded['state_dict']['0.weight'], net[0].weight)
    assert os.listdir(path.parent) == ['a.pth']  # no temporary left over


def test_failed_replace_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'meta': {'epoch': 1}}, path)

    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(ckpt_module.os, 'replace', broken_replace)
    with pytest.raises(CheckpointSaveError) as info:
        save_checkpoint({'meta': {'epoch': 2}}, path)
    assert 'No space left on device' in str(info.value)
    assert 'epoch_1.pth' in str(info.value)
    monkeypatch.undo()
    assert load_checkpoint_file(path)['meta'] == {'epoch': 1}
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_failed_write_keeps_previous_pointer(tmp_path, monkeypatch):
    pointer = str(tmp_path / 'last_checkpoint')
    write_text_atomic(pointer, '/a/epoch_1.pth')
    monkeypatch.setattr(ckpt_module.os, 'fsync',
                        lambda fd: (_ for _ in ()).throw(OSError(5, 'EIO')))
    with pytest.raises(CheckpointSaveError):
        write_text_atomic(pointer, '/a/epoch_2.pth')
    monkeypatch.undo()
    assert open(pointer).read() == '/a/epoch_1.pth'


def test_truncated_file_is_named_with_its_problem(tmp_path):
    path = tmp_path / 'cut.pth'
    save_checkpoint({'w': torch.ones(1000)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(str(path))
    assert str(path) in str(info.value)
    assert 'truncated or corrupt' in str(info.value)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointLoadError, match='empty'):
        load_checkpoint_file(str(empty))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointLoadError):  # the same error is both
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_unsafe_content_says_weights_only_false_is_needed(tmp_path):
    path = tmp_path / 'numpy.pth'
    torch.save({'meta': {'score': np.float64(1.5)}}, str(path))
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(str(path))
    assert 'weights_only=False' in str(info.value)
    trusted = load_checkpoint_file(str(path), weights_only=False)
    assert trusted['meta']['score'] == 1.5


def test_load_state_dict_reports_mismatches(tmp_path, capsys):
    net = _net()
    state = OrderedDict(net.state_dict())
    state['extra.weight'] = torch.zeros(1)
    del state['0.bias']
    with pytest.raises(RuntimeError) as info:
        load_state_dict(_net(), state, strict=True)
    message = str(info.value)
    assert 'unexpected key in source state_dict: extra.weight' in message
    assert 'missing keys in source state_dict: 0.bias' in message
    target = _net()
    load_state_dict(target, state)  # lenient: loads what matches
    assert torch.equal(target[0].weight, net[0].weight)


def test_load_state_dict_ignores_missing_num_batches_tracked():
    net = _net()
    state = {k: v for k, v in net.state_dict().items()
             if 'num_batches_tracked' not in k}
    load_state_dict(_net(), state, strict=True)


def test_load_checkpoint_revises_keys_and_unwraps_wrappers(tmp_path):
    net = _net()
    wrapped = nn.DataParallel(net)
    path = str(tmp_path / 'dp.pth')
    save_checkpoint({'state_dict': wrapped.state_dict()}, path)
    target = _net()
    load_checkpoint(target, path, strict=True)
    assert torch.equal(target[0].weight, net[0].weight)
    # a wrapped target loads the same unprefixed keys
    wrapped_target = nn.DataParallel(_net())
    load_checkpoint(wrapped_target, path, strict=True)
    assert torch.equal(wrapped_target.module[0].weight, net[0].weight)
    # custom revision: strip another prefix
    save_checkpoint({'state_dict': {f'backbone.{k}': v for k, v in
                                    net.state_dict().items()}}, path)
    load_checkpoint(target, path, strict=True,
                    revise_keys=[(r'^backbone\.', '')])


def test_get_state_dict_skips_nested_wrappers():
    inner = _net()
    outer = nn.Module()
    outer.body = nn.DataParallel(inner)
    keys = list(get_state_dict(outer))
    assert keys[0] == 'body.0.weight'
    assert not any('module.' in k for k in keys)


def test_weights_to_cpu_keeps_metadata():
    state = _net().state_dict()
    cpu = weights_to_cpu(state)
    assert cpu._metadata == state._metadata
    assert all(v.device.type == 'cpu' for v in cpu.values())


def test_find_latest_checkpoint(tmp_path):
    assert find_latest_checkpoint(str(tmp_path)) is None
    target = tmp_path / 'iter_4.pth'
    save_checkpoint({'meta': {}}, str(target))
    write_text_atomic(str(tmp_path / 'last_checkpoint'), str(target))
    assert find_latest_checkpoint(str(tmp_path)) == str(target)
    os.remove(target)  # pointer to a deleted file: nothing to resume
    assert find_latest_checkpoint(str(tmp_path)) is None


def test_save_rejects_remote_backends(tmp_path):
    with pytest.raises(ValueError, match="'petrel'"):
        save_checkpoint({}, str(tmp_path / 'x.pth'),
                        backend_args=dict(backend='petrel'))
