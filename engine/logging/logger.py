"""MMLogger: the training log, on the standard logging module.

Loggers are named global instances (``MMLogger.get_instance('exp1')``) kept
out of ``logging``'s own hierarchy, so third-party logging configuration
neither silences nor duplicates them. Only rank 0 prints to the console
(other ranks print errors only); the file log is written by rank 0, or by
every rank into its own file when ``distributed=True`` or at DEBUG level.
"""
import logging
import logging.handlers
import os
import os.path as osp
import socket
import sys
from getpass import getuser
from typing import Optional, Union

from ..dist.utils import get_rank, get_world_size
from ..utils import ManagerMixin

CONSOLE_DATEFMT = '%m/%d %H:%M:%S'
FILE_DATEFMT = '%Y/%m/%d %H:%M:%S'
_BASE_FORMAT = '%(asctime)s - %(name)s - %(levelname)s - '


class LevelFormatter(logging.Formatter):
    """``time - name - LEVEL - message``; errors also say where they came
    from (file, function, line), which is what one needs to act on them."""

    def __init__(self, datefmt: str):
        super().__init__(fmt=_BASE_FORMAT + '%(message)s', datefmt=datefmt)
        self._error_formatter = logging.Formatter(
            fmt=_BASE_FORMAT + '%(pathname)s - %(funcName)s - %(lineno)d - '
            '%(message)s',
            datefmt=datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.ERROR:
            return self._error_formatter.format(record)
        return super().format(record)


class FilterDuplicateWarning(logging.Filter):
    """Let each distinct warning through once (DDP ranks and loops repeat
    them)."""

    def __init__(self, name: str = 'mmengine'):
        super().__init__(name)
        self.seen: set = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        if record.msg in self.seen:
            return False
        self.seen.add(record.msg)
        return True


def _level(log_level: Union[int, str]) -> int:
    if isinstance(log_level, int):
        return log_level
    level = logging.getLevelName(str(log_level).upper())
    if not isinstance(level, int):
        raise ValueError(
            f'log_level must be an int or one of DEBUG, INFO, WARNING, '
            f'ERROR, CRITICAL, got {log_level!r}')
    return level


def _file_handler_class(name: str) -> type:
    cls = getattr(logging.handlers, name, None) or getattr(logging, name, None)
    if not (isinstance(cls, type) and issubclass(cls, logging.FileHandler)):
        raise ValueError(
            f'file_handler_cfg type {name!r} is not a FileHandler class of '
            f'the logging module')
    return cls


def _rank_log_file(log_file: str, rank: int) -> str:
    stem, suffix = osp.splitext(osp.basename(log_file))
    try:
        host = f'{getuser()}@{socket.gethostname()}_'
    except Exception:  # getuser fails in some containers
        host = ''
    device = os.environ.get('LOCAL_RANK', '0')
    return osp.join(
        osp.dirname(log_file),
        f'{stem}_{host}device{device}_rank{rank}{suffix}')


class MMLogger(logging.Logger, ManagerMixin):
    """A named global logger with console and optional file output.

    Args:
        name: global instance name (for ``get_instance``).
        logger_name: the ``name`` shown in each line. Defaults to 'mmengine'.
        log_file: also write to this file.
        log_level: level of the handlers. Defaults to 'INFO'.
        file_mode: 'w' to start a new file, 'a' to append.
        distributed: every rank writes its own log file.
        file_handler_cfg: ``dict(type='RotatingFileHandler', ...)`` to use
            another ``logging`` file handler.
    """

    def __init__(self,
                 name: str,
                 logger_name: str = 'mmengine',
                 log_file: Optional[str] = None,
                 log_level: Union[int, str] = 'INFO',
                 file_mode: str = 'w',
                 distributed: bool = False,
                 file_handler_cfg: Optional[dict] = None):
        logging.Logger.__init__(self, logger_name)
        ManagerMixin.__init__(self, name)
        level = _level(log_level)
        rank = get_rank()

        console = logging.StreamHandler(stream=sys.stdout)
        console.setFormatter(LevelFormatter(CONSOLE_DATEFMT))
        console.setLevel(level if rank == 0 else logging.ERROR)
        console.addFilter(FilterDuplicateWarning(logger_name))
        self.handlers.append(console)

        if log_file is not None:
            log_file = str(log_file)
            per_rank = (level <= logging.DEBUG or distributed) and (
                get_world_size() > 1)
            if per_rank:
                log_file = _rank_log_file(log_file, rank)
            if rank == 0 or per_rank:
                self.handlers.append(
                    self._file_handler(log_file, file_mode, file_handler_cfg,
                                       level, logger_name))
        self._log_file = log_file

    @staticmethod
    def _file_handler(log_file: str, file_mode: str,
                      file_handler_cfg: Optional[dict], level: int,
                      logger_name: str) -> logging.Handler:
        log_dir = osp.dirname(log_file)
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
        if file_handler_cfg is not None:
            cfg = dict(file_handler_cfg)
            if 'type' not in cfg:
                raise KeyError(
                    f'file_handler_cfg needs a "type" naming a logging file '
                    f'handler class, got {file_handler_cfg!r}')
            cls = _file_handler_class(cfg.pop('type'))
            cfg.setdefault('filename', log_file)
            handler = cls(**cfg)
        else:
            handler = logging.FileHandler(log_file, file_mode)
        handler.setFormatter(LevelFormatter(FILE_DATEFMT))
        handler.setLevel(level)
        handler.addFilter(FilterDuplicateWarning(logger_name))
        return handler

    @property
    def log_file(self) -> Optional[str]:
        return self._log_file

    @classmethod
    def get_current_instance(cls) -> 'MMLogger':
        """The latest logger; one named 'mmengine' is created if none
        exists, so library code can always log."""
        if not cls._instance_dict:
            cls.get_instance('mmengine')
        return super().get_current_instance()

    def isEnabledFor(self, level: int) -> bool:
        """Whether a message of ``level`` would reach anything.

        As in mmengine, the logger itself passes every level and its
        handlers filter. Building a record (which walks the stack to find
        the caller) only for every handler to drop it costs a few tens of
        microseconds per log line of a training loop logged at WARNING, so
        when no handler takes ``level`` and no logger filter could see the
        record, none is built: nothing observable changes.
        """
        if not self.filters and all(level < h.level for h in self.handlers):
            return False
        return super().isEnabledFor(level)

    def callHandlers(self, record: logging.LogRecord) -> None:
        # Only this logger's handlers: it is outside logging's hierarchy, and
        # with no handler a record is dropped (no lastResort on stderr).
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def setLevel(self, level: Union[int, str]) -> None:
        # logging.Logger.setLevel clears the caches of the loggers its
        # manager knows; ours are not among them.
        self.level = _level(level)
        for logger in list(MMLogger._instance_dict.values()):
            logger._cache.clear()


def print_log(msg: str,
              logger: Optional[Union[logging.Logger, str]] = None,
              level: int = logging.INFO) -> None:
    """Send ``msg`` to a logger chosen by ``logger``.

    None prints to stdout; a Logger logs to it; 'current' uses the latest
    MMLogger; 'silent' drops the message; any other str names an existing
    MMLogger instance.
    """
    if logger is None:
        print(msg)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == 'silent':
        pass
    elif logger == 'current':
        MMLogger.get_current_instance().log(level, msg)
    elif isinstance(logger, str):
        if not MMLogger.check_instance_created(logger):
            raise ValueError(
                f'MMLogger {logger!r} has not been created; create it with '
                f'MMLogger.get_instance({logger!r}) or pass "current"')
        MMLogger.get_instance(logger).log(level, msg)
    else:
        raise TypeError(
            f'logger must be a logging.Logger, "silent", "current", an '
            f'MMLogger name or None, got {type(logger).__name__}')
