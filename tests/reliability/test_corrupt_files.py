"""Loading bad files: truncated, damaged on disk, empty, not a checkpoint,
holding objects a safe load refuses, missing, a directory. Every entry
point (engine and legacy, weights only or full resume) says which file and
what is wrong with it, loads nothing half-way, and the good checkpoints
beside it still load. Mismatching keys are reported, and are an error with
``strict=True``."""
import logging

import numpy as np
import pytest
import torch

import child_train
import legacy
from engine.runner import (CheckpointLoadError, load_checkpoint,
                           load_checkpoint_file, save_checkpoint)
from reliability_helpers import file_bytes, unique


class Opaque:
    """A custom class: unpickling it would run arbitrary code."""


def good_checkpoint(path) -> dict:
    model = torch.nn.Linear(3, 1)
    checkpoint = {'meta': dict(epoch=1, iter=5),
                  'state_dict': model.state_dict()}
    save_checkpoint(checkpoint, str(path))
    return checkpoint


def damage(kind: str, path, good) -> str:
    """Write a bad file of ``kind`` at ``path``; returns the phrase the
    error must contain."""
    with open(good, 'rb') as f:
        data = f.read()
    if kind == 'truncated':
        path.write_bytes(data[:len(data) // 2])
        return 'truncated or corrupt'
    if kind == 'damaged':  # flip the bytes of a weight: torch would not see
        weights = torch.load(good, weights_only=True)['state_dict']
        raw = next(iter(weights.values())).numpy().tobytes()
        start = data.index(raw)
        flipped = bytes(b ^ 0xFF for b in data[start:start + len(raw)])
        path.write_bytes(data[:start] + flipped + data[start + len(raw):])
        return 'does not match the checksum'
    if kind == 'empty':
        path.write_bytes(b'')
        return 'is empty (0 bytes)'
    if kind == 'text':
        path.write_text('{"state_dict": {}}')
        return 'not a checkpoint written by torch.save'
    if kind == 'unsafe':
        torch.save({'state_dict': {}, 'meta': {'hook': Opaque()}}, path)
        return 'weights_only=False'
    if kind == 'numpy':
        torch.save({'state_dict': {}, 'meta': {'mean': np.zeros(3)}}, path)
        return 'weights_only=False'
    if kind == 'directory':
        path.mkdir()
        return 'it is a directory'
    assert kind == 'missing'
    return 'does not exist'


KINDS = ['truncated', 'damaged', 'empty', 'text', 'unsafe', 'numpy',
         'directory', 'missing']


def engine_file(path):
    return load_checkpoint_file(str(path))


def engine_weights(path):
    return load_checkpoint(torch.nn.Linear(3, 1), str(path))


def engine_resume(path):
    runner = child_train.engine_runner(
        str(path.parent / 'run'), name=unique('corrupt'), resume=True,
        load_from=str(path))
    runner.train()


def legacy_weights(path):
    return legacy.load_checkpoint(torch.nn.Linear(3, 1), str(path))


def legacy_resume(path):
    runner = child_train.legacy_runner(str(path.parent / 'run'),
                                       name=unique('corrupt'))
    runner.resume(str(path))


LOADERS = [engine_file, engine_weights, engine_resume, legacy_weights,
           legacy_resume]


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('load', LOADERS, ids=lambda f: f.__name__)
def test_bad_file_is_named_with_its_problem(tmp_path, kind, load):
    good = tmp_path / 'epoch_1.pth'
    good_checkpoint(good)
    before = file_bytes(str(tmp_path))
    bad = tmp_path / 'epoch_2.pth'
    problem = damage(kind, bad, good)
    with pytest.raises(CheckpointLoadError) as info:
        load(bad)
    assert str(bad) in str(info.value) and problem in str(info.value), (
        str(info.value))
    if kind == 'missing':
        assert isinstance(info.value, FileNotFoundError)
    # the good checkpoint beside it was not touched and still loads
    after = file_bytes(str(tmp_path))
    assert {k: after[k] for k in before} == before
    assert load_checkpoint_file(str(good))['meta']['epoch'] == 1


def test_failed_load_changes_no_weight(tmp_path):
    good = tmp_path / 'good.pth'
    good_checkpoint(good)
    bad = tmp_path / 'bad.pth'
    damage('damaged', bad, good)
    model = torch.nn.Linear(3, 1)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointLoadError):
        load_checkpoint(model, str(bad))
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key])


def test_trusted_foreign_file_loads_with_weights_only_false(tmp_path):
    path = tmp_path / 'old.pth'
    torch.save({'state_dict': {}, 'meta': {'mean': np.zeros(3)}}, path)
    loaded = load_checkpoint_file(str(path), weights_only=False)
    assert loaded['meta']['mean'].tolist() == [0, 0, 0]


def test_file_holding_something_else_than_a_checkpoint(tmp_path):
    path = tmp_path / 'list.pth'
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointLoadError,
                       match='holds a list, not a dict with a state_dict'):
        load_checkpoint(torch.nn.Linear(3, 1), str(path))
    with pytest.raises(CheckpointLoadError, match='list.pth'):
        legacy.load_checkpoint(torch.nn.Linear(3, 1), str(path))


def mismatched(path) -> None:
    """Weights of Linear(3, 1) with ``bias`` renamed: one key missing, one
    unexpected."""
    state = torch.nn.Linear(3, 1).state_dict()
    state['offset'] = state.pop('bias')
    save_checkpoint({'state_dict': state}, str(path))


@pytest.mark.parametrize('api', ['engine', 'legacy'])
def test_missing_and_unexpected_keys(tmp_path, caplog, api):
    path = tmp_path / 'renamed.pth'
    mismatched(path)
    logger = logging.getLogger(unique('keys'))
    loader = load_checkpoint if api == 'engine' else legacy.load_checkpoint
    with caplog.at_level(logging.WARNING, logger=logger.name):
        loader(torch.nn.Linear(3, 1), str(path), logger=logger)
    report = caplog.text
    assert 'missing keys in source state_dict: bias' in report
    assert 'unexpected key in source state_dict: offset' in report
    with pytest.raises(RuntimeError) as info:
        loader(torch.nn.Linear(3, 1), str(path), strict=True, logger=logger)
    assert 'bias' in str(info.value) and 'offset' in str(info.value)


def test_runner_load_from_strict(tmp_path):
    path = tmp_path / 'renamed.pth'
    mismatched(path)
    runner = child_train.engine_runner(str(tmp_path / 'run'),
                                       name=unique('strict'))
    runner.model.linear = torch.nn.Linear(3, 1)
    runner.model.dropout = torch.nn.Identity()
    with pytest.raises(RuntimeError, match='missing keys.*linear.weight'):
        runner.load_checkpoint(str(path), strict=True)


@pytest.mark.parametrize('resume', [engine_resume, legacy_resume],
                         ids=lambda f: f.__name__)
def test_resume_from_a_weights_only_file_says_what_to_do(tmp_path, resume):
    path = tmp_path / 'weights.pth'
    model = child_train._engine_model()
    save_checkpoint({'state_dict': model.state_dict()}, str(path))
    with pytest.raises(KeyError, match='load_from') as info:
        resume(path)
    assert 'no meta with epoch and iter' in str(info.value)


def test_resume_pointer_to_a_damaged_file(tmp_path):
    """``resume=True`` finds the newest checkpoint through last_checkpoint;
    if that file was damaged the error names it, and the previous one still
    resumes."""
    work = tmp_path / 'run'
    runner = child_train.engine_runner(str(work), name=unique('ptr'))
    runner.train()
    damage('damaged', work / 'epoch_4.pth', str(work / 'epoch_3.pth'))
    again = child_train.engine_runner(str(work), name=unique('ptr'),
                                      resume=True)
    with pytest.raises(CheckpointLoadError, match='epoch_4.pth is corrupt'):
        again.train()
    earlier = child_train.engine_runner(
        str(work), name=unique('ptr'), resume=True,
        load_from=str(work / 'epoch_3.pth'))
    earlier.train()
    assert earlier.epoch == 4
