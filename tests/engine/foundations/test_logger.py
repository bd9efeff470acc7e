"""MMLogger and print_log: format, files, levels, named instances."""
import logging
import re

import pytest

from engine.logging import MMLogger, print_log
from engine.utils import ManagerMixin

LINE = re.compile(r'^\d\d/\d\d \d\d:\d\d:\d\d - (\S+) - (\w+) - (.*)$')
FILE_LINE = re.compile(
    r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d - (\S+) - (\w+) - (.*)$')


def test_console_and_file_lines_have_mmengine_format(tmp_path, capsys,
                                                      unique_name):
    log_file = tmp_path / 'sub' / 'run.log'
    logger = MMLogger.get_instance(unique_name, logger_name='toy',
                                   log_file=str(log_file))
    logger.info('hello')
    logger.debug('hidden at INFO')
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert LINE.match(out[0]).groups() == ('toy', 'INFO', 'hello')
    for handler in logger.handlers:
        handler.flush()
    lines = log_file.read_text().splitlines()
    assert FILE_LINE.match(lines[0]).groups() == ('toy', 'INFO', 'hello')
    assert logger.log_file == str(log_file)


def test_error_lines_say_where(capsys, unique_name):
    logger = MMLogger.get_instance(unique_name)
    logger.error('boom')
    line = capsys.readouterr().out.strip()
    assert ' - ERROR - ' in line and 'test_logger.py' in line
    assert line.endswith('boom')


def test_duplicate_warnings_are_shown_once(capsys, unique_name):
    logger = MMLogger.get_instance(unique_name)
    for _ in range(3):
        logger.warning('same warning')
    logger.warning('other warning')
    out = capsys.readouterr().out
    assert out.count('same warning') == 1 and 'other warning' in out


def test_level_and_file_mode(tmp_path, capsys, unique_name):
    log_file = tmp_path / 'a.log'
    log_file.write_text('old line\n')
    logger = MMLogger.get_instance(unique_name, log_file=str(log_file),
                                   log_level='DEBUG', file_mode='a')
    logger.debug('debugging')
    for handler in logger.handlers:
        handler.flush()
    assert 'debugging' in capsys.readouterr().out
    assert log_file.read_text().startswith('old line\n')
    logger.setLevel(logging.ERROR)
    logger.warning('suppressed')
    assert 'suppressed' not in capsys.readouterr().out


def test_bad_level_is_rejected(unique_name):
    with pytest.raises(ValueError, match='LOUD'):
        MMLogger.get_instance(unique_name, log_level='LOUD')


def test_file_handler_cfg(tmp_path, unique_name):
    log_file = tmp_path / 'rot.log'
    logger = MMLogger.get_instance(
        unique_name, log_file=str(log_file),
        file_handler_cfg=dict(type='RotatingFileHandler', maxBytes=1000))
    assert isinstance(logger.handlers[-1],
                      logging.handlers.RotatingFileHandler)
    with pytest.raises(ValueError, match='NoSuchHandler'):
        MMLogger.get_instance(unique_name + '-bad', log_file=str(log_file),
                              file_handler_cfg=dict(type='NoSuchHandler'))


def test_not_part_of_logging_hierarchy(unique_name):
    logger = MMLogger.get_instance(unique_name, logger_name=unique_name)
    assert logging.getLogger(unique_name) is not logger
    assert MMLogger.get_current_instance() is logger


def test_print_log_targets(capsys, unique_name):
    logger = MMLogger.get_instance(unique_name)
    print_log('to stdout')
    assert capsys.readouterr().out == 'to stdout\n'
    print_log('silenced', logger='silent')
    assert capsys.readouterr().out == ''
    print_log('by name', logger=unique_name)
    print_log('current', logger='current', level=logging.WARNING)
    print_log('object', logger=logger)
    out = capsys.readouterr().out
    assert 'INFO - by name' in out and 'WARNING - current' in out
    assert 'object' in out
    with pytest.raises(ValueError, match='has not been created'):
        print_log('x', logger=unique_name + '-never')
    with pytest.raises(TypeError, match='logger must be'):
        print_log('x', logger=3)


def test_manager_mixin_keeps_instances_per_class(unique_name):

    class Tracked(ManagerMixin):

        def __init__(self, name, value=0):
            super().__init__(name)
            self.value = value

    with pytest.raises(RuntimeError, match='get_instance'):
        Tracked.get_current_instance()
    first = Tracked.get_instance('a', value=1)
    second = Tracked.get_instance('b')
    assert Tracked.get_instance('a') is first
    assert Tracked.get_current_instance() is second
    assert Tracked.check_instance_created('a')
    assert Tracked._instance_dict is not MMLogger._instance_dict
    with pytest.raises(ValueError, match='non-empty'):
        Tracked('')
