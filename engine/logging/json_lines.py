"""JSON-lines log files: one record per line, written through a buffer.

Log records come at every log interval. Flushing each line (or a
line-buffered file) costs a write system call every time, which on a small
model is a visible share of every iteration once spread over the interval.
Here lines go through the file's buffer and reach the disk at least every
``FLUSH_SECONDS``, and whenever ``flush()`` is called (the logger hooks
flush at every epoch end and close the file when the run ends; the runners
flush every open one when training stops, by an exception too), so a killed
process loses at most the last second of the log.
"""
import json
import math
import weakref
from time import monotonic

import numpy as np

FLUSH_SECONDS = 1.0

_encode_str = json.encoder.encode_basestring_ascii
_FLOATS = (float, np.float64)


def json_line(record: dict, encoder: json.JSONEncoder) -> str:
    """``encoder.encode(record)``, for an encoder with ``json``'s default
    separators and ASCII output.

    The usual log record (string keys; string, int and finite float values)
    is written here directly, with the very text ``json`` writes: the
    encoder's per-call set-up costs more than such a line. Anything else
    goes through ``encoder``.
    """
    parts = []
    for key, value in record.items():
        cls = value.__class__
        if cls in _FLOATS and math.isfinite(value):
            text = float.__repr__(value)
        elif cls is int:
            text = int.__repr__(value)
        elif cls is str:
            text = _encode_str(value)
        else:
            return encoder.encode(record)
        if key.__class__ is not str:
            return encoder.encode(record)
        parts.append(f'{_encode_str(key)}: {text}')
    return '{' + ', '.join(parts) + '}'


class JsonLinesFile:
    """A JSON-lines file opened for appending (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, 'a')
        self._flushed_at = 0.0
        _OPEN.add(self)

    def write_line(self, line: str) -> None:
        """Append ``line`` (a JSON text without its newline)."""
        self._file.write(line + '\n')
        if monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._flushed_at = monotonic()

    def close(self) -> None:
        _OPEN.discard(self)
        self._file.close()


_OPEN: 'weakref.WeakSet[JsonLinesFile]' = weakref.WeakSet()


def flush_open_files() -> None:
    """Push the buffer of every open JSON-lines file to its file. The
    runners call this when training stops, whether it ended or an exception
    ended it, so that what was logged before is on disk."""
    for log_file in list(_OPEN):
        log_file.flush()
