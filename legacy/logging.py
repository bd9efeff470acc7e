"""mmcv's ``get_logger``/``print_log``: plain ``logging`` loggers.

A logger is configured once per name (a console handler, plus a file handler
on rank 0 when ``log_file`` is given), with mmcv's line format; other ranks
only report errors. Child names of a configured logger are left to propagate
to it, as in mmcv.
"""
import logging
from typing import Optional, Union

from engine.dist import get_rank

logger_initialized: dict = {}

_FORMAT = '%(asctime)s - %(name)s - %(levelname)s - %(message)s'


def get_logger(name: str,
               log_file: Optional[str] = None,
               log_level: int = logging.INFO,
               file_mode: str = 'w') -> logging.Logger:
    """Return the logger ``name``, configuring it on first use."""
    logger = logging.getLogger(name)
    if name in logger_initialized or any(
            name.startswith(parent) for parent in logger_initialized):
        return logger

    # torch.distributed puts a stderr handler on the root logger; quiet it so
    # that messages of this logger are not printed twice.
    for handler in logger.root.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.ERROR)

    rank = get_rank()
    handlers: list = [logging.StreamHandler()]
    if rank == 0 and log_file is not None:
        handlers.append(logging.FileHandler(log_file, file_mode))
    formatter = logging.Formatter(_FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(log_level)
        logger.addHandler(handler)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    logger_initialized[name] = True
    return logger


def print_log(msg: str,
              logger: Union[logging.Logger, str, None] = None,
              level: int = logging.INFO) -> None:
    """Log ``msg`` to ``logger``: a Logger, a logger name (configured with
    :func:`get_logger`), ``'silent'`` for nothing, or None for ``print``."""
    if logger is None:
        print(msg)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == 'silent':
        pass
    elif isinstance(logger, str):
        get_logger(logger).log(level, msg)
    else:
        raise TypeError('logger must be a logging.Logger, a logger name, '
                        f'"silent" or None, but got {type(logger).__name__}')
