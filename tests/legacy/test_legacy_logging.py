"""get_logger/print_log, LogBuffer, and the logger hooks' outputs."""
import builtins
import json
import logging
import uuid

import numpy as np
import pytest
import torch

import legacy
from legacy_scenarios import RegressionModel, regression_loader


def test_get_logger_configures_once_with_mmcv_format(tmp_path):
    name = f'legacy-log-{uuid.uuid4().hex[:8]}'
    log_file = tmp_path / 'run.log'
    logger = legacy.get_logger(name, log_file=str(log_file))
    assert legacy.get_logger(name) is logger
    assert len(logger.handlers) == 2
    assert {h.formatter._fmt for h in logger.handlers} == {
        '%(asctime)s - %(name)s - %(levelname)s - %(message)s'
    }
    logger.info('hello')
    for handler in logger.handlers:
        handler.flush()
    assert log_file.read_text().endswith(f' - {name} - INFO - hello\n')
    # a child of a configured logger is not configured again
    child = legacy.get_logger(f'{name}.child')
    assert child.handlers == []


def test_get_logger_level_and_file_mode(tmp_path):
    name = f'legacy-log-{uuid.uuid4().hex[:8]}'
    log_file = tmp_path / 'run.log'
    log_file.write_text('old\n')
    logger = legacy.get_logger(
        name, log_file=str(log_file), log_level=logging.WARNING,
        file_mode='a')
    logger.info('hidden')
    logger.warning('shown')
    for handler in logger.handlers:
        handler.flush()
    lines = log_file.read_text().splitlines()
    assert lines[0] == 'old' and lines[1].endswith('WARNING - shown')
    assert len(lines) == 2


def test_print_log(capsys, caplog):
    legacy.print_log('to stdout')
    assert capsys.readouterr().out == 'to stdout\n'
    legacy.print_log('nothing', logger='silent')
    assert capsys.readouterr().out == ''
    name = f'legacy-log-{uuid.uuid4().hex[:8]}'
    with caplog.at_level(logging.INFO, logger=name):
        legacy.print_log('named', logger=name, level=logging.WARNING)
    assert [(r.name, r.levelname, r.getMessage())
            for r in caplog.records] == [(name, 'WARNING', 'named')]
    with pytest.raises(TypeError, match='logger must be'):
        legacy.print_log('x', logger=3)


def test_log_buffer_weighted_average():
    buffer = legacy.LogBuffer()
    buffer.update(dict(loss=1.0, acc=0.5), count=2)
    buffer.update(dict(loss=4.0), count=6)
    buffer.update(dict(loss=torch.tensor(2.0)), count=2)
    buffer.average(2)
    assert buffer.ready
    assert buffer.output['loss'] == (4.0 * 6 + 2.0 * 2) / 8
    assert buffer.output['acc'] == 0.5
    buffer.average()
    assert buffer.output['loss'] == pytest.approx((2 + 24 + 4) / 10)
    assert isinstance(buffer.output['loss'], np.floating)
    buffer.clear_output()
    assert not buffer.ready and not buffer.output
    buffer.clear()
    assert not buffer.val_history
    with pytest.raises(TypeError, match='dict'):
        buffer.update([1.0])
    with pytest.raises(ValueError):
        buffer.average(-1)


def test_text_logger_writes_meta_then_records(logger, tmp_path):
    torch.manual_seed(0)
    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1,
        meta=dict(seed=1, exp_name='demo', score=np.float32(0.25)))
    runner.register_training_hooks(
        lr_config=None, optimizer_config=dict(),
        log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))
    runner.run([regression_loader(8, 2)], [('train', 1)])
    path = tmp_path / f'{runner.timestamp}.log.json'
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0] == dict(seed=1, exp_name='demo', score=0.25)
    assert [list(r) for r in records[1:]] == [[
        'mode', 'epoch', 'iter', 'lr', 'data_time', 'loss', 'time'
    ]] * 2
    assert [r['iter'] for r in records[1:]] == [2, 4]


def test_text_logger_copies_logs_to_out_dir(logger, tmp_path):
    model = RegressionModel()
    work_dir = tmp_path / 'work'
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(work_dir), logger=logger, max_epochs=1)
    runner.register_training_hooks(
        lr_config=None, optimizer_config=dict(),
        log_config=dict(interval=1, hooks=[
            dict(type='TextLoggerHook', out_dir=str(tmp_path / 'out'),
                 keep_local=False)
        ]))
    runner.run([regression_loader(4, 2)], [('train', 1)])
    name = f'{runner.timestamp}.log.json'
    assert (tmp_path / 'out' / 'work' / name).is_file()
    assert not (work_dir / name).exists()


def test_text_logger_arguments():
    with pytest.raises(ValueError, match='file_client_args'):
        legacy.TextLoggerHook(file_client_args=dict(backend='disk'))
    with pytest.raises(TypeError, match='out_dir'):
        legacy.TextLoggerHook(out_dir=3)


def test_tensorboard_hook_names_the_missing_extra(logger, tmp_path,
                                                  monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith('torch.utils.tensorboard'):
            raise ImportError('No module named tensorboard')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_tensorboard)
    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    runner.register_training_hooks(
        lr_config=None,
        log_config=dict(interval=1,
                        hooks=[dict(type='TensorboardLoggerHook')]))
    with pytest.raises(ImportError, match=r'trainbridge\[tensorboard\]'):
        runner.run([regression_loader(4, 2)], [('train', 1)])


def test_logger_hook_tags(logger, tmp_path):
    model = RegressionModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1,
                                         momentum=0.9),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    runner.mode = 'train'
    runner.log_buffer.output.update(loss=1.5, time=0.1, note='x')
    hook = legacy.TextLoggerHook()
    assert hook.get_loggable_tags(runner) == {
        'train/loss': 1.5, 'learning_rate': 0.1, 'momentum': 0.9
    }
    assert hook.get_loggable_tags(runner, allow_text=True,
                                  add_mode=False)['note'] == 'x'
    assert hook.is_scalar(torch.tensor(1.)) and hook.is_scalar(np.array(2))
