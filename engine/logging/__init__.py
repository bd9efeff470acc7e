"""Logging: the MMLogger, message hub, scalar histories and log lines."""
from .history_buffer import HistoryBuffer, ScaledValue, weighted_value
from .log_processor import LogProcessor
from .logger import MMLogger, print_log
from .message_hub import MessageHub

__all__ = ['HistoryBuffer', 'LogProcessor', 'MMLogger', 'MessageHub',
           'ScaledValue', 'print_log', 'weighted_value']
