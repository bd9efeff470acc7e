"""Stop training cleanly on SIGINT/SIGTERM: finish the iteration, save, exit.

A scheduler preempting a job sends SIGTERM, a user at the terminal presses
Ctrl-C; by default either kills the process in the middle of an iteration
and loses everything since the last periodic checkpoint. While a runner
trains, :class:`StopRequest` replaces the handlers of those signals with one
that only records the signal. The training loop looks at the record after
each iteration (an attribute test, nothing more), writes a checkpoint there
and raises :class:`TrainingInterrupted`. A second signal stops at once with a
plain ``KeyboardInterrupt``, for when the graceful path itself hangs.

Handlers can only be installed from the main thread; elsewhere (a runner
driven from a worker thread) nothing is installed and the signals keep their
usual effect. The previous handlers are put back when training ends, however
it ends.
"""
import signal
import threading
from typing import Any, Dict, Iterable, Optional, Tuple, Union

DEFAULT_STOP_SIGNALS = ('SIGINT', 'SIGTERM')

SignalSpec = Union[None, bool, str, int, Iterable[Union[str, int]]]


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped after a signal, once a checkpoint was written.

    A ``KeyboardInterrupt`` so that ``except Exception`` in user code does not
    swallow it and an uncaught one ends the process as Ctrl-C does.

    Attributes:
        signal_name: ``'SIGINT'`` or ``'SIGTERM'`` (or whichever was asked
            for).
        checkpoint: the checkpoint written on the way out, or None when none
            could be written (saving is then the error's cause).
    """

    def __init__(self, message: str, signal_name: str,
                 checkpoint: Optional[str]) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.checkpoint = checkpoint


def parse_signals(value: SignalSpec, where: str) -> Tuple[signal.Signals, ...]:
    """The signals named by ``value`` (names such as ``'SIGTERM'``, numbers,
    or a list of them; ``None``/``False``/empty turns the feature off,
    ``True`` means the default pair)."""
    if value is None or value is False:
        return ()
    if value is True:
        value = DEFAULT_STOP_SIGNALS
    if isinstance(value, (str, int)):
        value = (value, )
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f'{where} must be a signal name, a list of signal '
                        'names, or None/False to turn it off, but got '
                        f'{type(value).__name__}: {value!r}') from None
    result = []
    for item in items:
        try:
            if isinstance(item, bool):
                raise ValueError
            if isinstance(item, str):
                sig = signal.Signals[item.upper()]
            elif isinstance(item, int):
                sig = signal.Signals(item)
            else:
                raise TypeError(
                    f'{where} must hold signal names or numbers, but holds '
                    f'{type(item).__name__}: {item!r}')
        except (KeyError, ValueError):
            raise ValueError(f'{where}: {item!r} is not a signal of this '
                             'platform; use names such as "SIGINT" or '
                             '"SIGTERM"') from None
        if sig in (getattr(signal, 'SIGKILL', None),
                   getattr(signal, 'SIGSTOP', None)):
            raise ValueError(f'{where}: {sig.name} cannot be caught')
        if sig not in result:
            result.append(sig)
    return tuple(result)


class StopRequest:
    """Records a stop signal while installed (use it as a context manager).

    ``received`` is None until one of ``signals`` arrives, then the signal.
    ``on_signal(sig)``, if given, is called from the handler (to log that the
    signal was seen).
    """

    def __init__(self, signals: SignalSpec = DEFAULT_STOP_SIGNALS,
                 on_signal: Optional[Any] = None,
                 where: str = 'stop_signals') -> None:
        self.signals = parse_signals(signals, where)
        self.on_signal = on_signal
        self.received: Optional[signal.Signals] = None
        self._previous: Dict[signal.Signals, Any] = {}

    def __enter__(self) -> 'StopRequest':
        self.received = None
        if self.signals and \
                threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.restore()

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        previous, self._previous = self._previous, {}
        for sig, handler in previous.items():
            # None: the old handler was not installed from Python
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _handle(self, signum: int, frame: Any) -> None:
        sig = signal.Signals(signum)
        if self.received is not None:
            self.restore()
            raise KeyboardInterrupt(
                f'{sig.name} received a second time: stopping at once, '
                'without a checkpoint')
        self.received = sig
        if self.on_signal is not None:
            self.on_signal(sig)


class _NoStopRequest:
    """Stands in for the stop request of a runner that has none."""

    received = None


NO_STOP = _NoStopRequest()


def interrupt_message(signal_name: str, where: str,
                      checkpoint: Optional[str]) -> str:
    """What the user reads when training stopped after a signal."""
    if checkpoint is None:
        return (f'Training stopped by {signal_name} {where}; no checkpoint '
                'was written.')
    return (f'Training stopped by {signal_name} {where}; the checkpoint '
            f'{checkpoint} was saved. Resume from it to continue exactly '
            'where training stopped.')
