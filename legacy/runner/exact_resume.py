"""What the legacy runners add to mmcv so that a resumed run equals an
uninterrupted one, and so that SIGINT/SIGTERM end training with a checkpoint.

mmcv's checkpoints hold weights, optimizer and counters only: a resumed run
reshuffles its data and redraws its dropout masks from whatever state the
random generators happen to be in, and an iteration-based resume restarts the
data. Here ``meta`` also carries (as plain, safely loadable data):

- ``rng``: the python, numpy, torch and CUDA generator states at saving;
- ``train_loop``: the position in the training data (pass, batches served,
  generator states when the pass began), recorded by the engine's
  :class:`~engine.runner.loops.DataCursor`.

Both keys are extra; mmcv and older tools ignore them, and a checkpoint
without them resumes as mmcv would.
"""
import contextlib
import os.path as osp
from typing import Any, Dict, Iterator, Optional

from engine.logging.json_lines import flush_open_files
from engine.runner.loops import DataCursor
from engine.runner.randomness import get_rng_state, set_rng_state
from engine.runner.signals import (DEFAULT_STOP_SIGNALS, NO_STOP,
                                   StopRequest, TrainingInterrupted,
                                   interrupt_message)


class ExactResumeMixin:
    """Generator states and data position in checkpoints, and the graceful
    stop on signals, for :class:`~legacy.runner.BaseRunner`.

    ``stop_signals`` (a class attribute, settable per runner before ``run``)
    names the signals that stop training after the current iteration with a
    checkpoint; None turns this off.
    """

    stop_signals: Any = DEFAULT_STOP_SIGNALS
    _resume_state: Optional[Dict] = None
    _cursor: Optional[DataCursor] = None
    _stop: Any = NO_STOP

    # ------------------------------------------------------------- saving
    def _add_resume_state(self, meta: Dict) -> None:
        """Put the generator states and the data position into ``meta``."""
        meta['rng'] = get_rng_state()
        if self._cursor is not None:
            meta['train_loop'] = self._cursor.state()
        else:
            meta.pop('train_loop', None)

    # ----------------------------------------------------------- resuming
    @staticmethod
    def _checkpoint_meta(checkpoint: Any, filename: str) -> Dict:
        """The ``meta`` a resume needs, or an error that says what to do
        (mmcv fails with a bare ``KeyError: 'meta'``)."""
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) \
            else None
        if not isinstance(meta, dict) or 'epoch' not in meta or \
                'iter' not in meta:
            raise KeyError(
                f'cannot resume from {filename}: it has no meta with epoch '
                'and iter (it holds only weights); use load_checkpoint (or '
                'load_from) to start from its weights instead')
        return meta

    def _take_resume_state(self, meta: Dict) -> None:
        """Move the generator states and data position out of a resumed
        ``meta`` (they describe the checkpoint, not the runner) and keep
        them until ``run`` reaches the point they were taken at."""
        rng = meta.pop('rng', None)
        position = meta.pop('train_loop', None)
        self._resume_state = None if rng is None else dict(
            rng=rng, position=position)

    def _resume_position(self, pass_index: int) -> Optional[Dict]:
        """The saved data position if it lies inside pass ``pass_index``
        (a checkpoint taken mid-pass), else None."""
        state = self._resume_state
        position = state and state.get('position')
        if position and position.get('pass_index') == pass_index and \
                position.get('served', 0) > 0:
            return position
        return None

    def _restore_rng(self) -> None:
        """Apply the saved generator states (once)."""
        state, self._resume_state = self._resume_state, None
        if state is not None:
            set_rng_state(state['rng'])

    def _restore_rng_at_epoch_end(self, workflow: list) -> None:
        """Apply the generator states of a checkpoint saved at the end of
        an epoch, and warn when the interrupted run validated after saving
        it: that validation drew random numbers (at least its data loader's
        seed) which the resumed run, starting with the next training epoch
        as mmcv does, does not draw again."""
        if self._resume_state is None:
            return
        self._restore_rng()
        from ..hooks.checkpoint import CheckpointHook
        from ..hooks.evaluation import EvalHook
        after_saving, saving = [], False
        for hook in self.hooks:
            saving = saving or isinstance(hook, CheckpointHook)
            if saving and isinstance(hook, EvalHook):
                after_saving.append(type(hook).__name__)
        if any(mode != 'train' for mode, _ in workflow):
            after_saving.append("the 'val' workflow phase")
        if after_saving:
            self.logger.warning(
                'Resumed from the end of an epoch. The interrupted run '
                f'validated after saving it ({", ".join(after_saving)}), '
                'drawing random numbers this run does not draw, so shuffling '
                'and other random draws may differ from an uninterrupted run '
                'from here on.')

    # ------------------------------------------------------------ signals
    def _stop_request(self) -> StopRequest:
        single = getattr(self, 'world_size', 1) == 1
        return StopRequest(self.stop_signals if single else None,
                           on_signal=self._on_stop_signal,
                           where=f'{type(self).__name__}.stop_signals')

    def _on_stop_signal(self, sig: Any) -> None:
        self.logger.warning(
            f'{sig.name} received: training stops after the current '
            'iteration, once a checkpoint is saved (send it again to stop at '
            'once, without a checkpoint).')

    def _checkpoint_dir(self) -> str:
        """Where the CheckpointHook writes (else the work dir)."""
        from ..hooks.checkpoint import CheckpointHook
        hook = next(
            (h for h in self.hooks if isinstance(h, CheckpointHook)), None)
        out_dir = getattr(hook, 'out_dir', None) or self.work_dir
        if out_dir is None:
            raise ValueError('the runner has no work_dir and no '
                             'CheckpointHook out_dir to save to')
        return out_dir

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """Install the stop-signal handlers for the body of ``run``; a
        signal that arrived after the last iteration still ends the process
        (after ``after_run``) rather than being forgotten. However the body
        ends, the buffered JSON logs are flushed."""
        stop = self._stop = self._stop_request()
        try:
            with stop:
                yield
        finally:
            self._stop = NO_STOP
            # buffered logs reach the disk however the run stops
            flush_open_files()
        if stop.received is not None:
            last = ((self.meta or {}).get('hook_msgs') or {}).get('last_ckpt')
            message = interrupt_message(stop.received.name,
                                        'after training had finished', last)
            self.logger.warning(message)
            raise TrainingInterrupted(message, stop.received.name, last)

    def _stop_after_signal(self) -> None:
        """Save a checkpoint after the current iteration and raise
        :class:`TrainingInterrupted` (called by the training loop)."""
        name = self._stop.received.name
        where = f'after iteration {self.iter} (epoch {self.epoch + 1})'
        try:
            path = self._save_interrupted_checkpoint(self._checkpoint_dir())
        except Exception as e:
            message = (f'{interrupt_message(name, where, None)} Saving the '
                       f'checkpoint failed: {e}')
            self.logger.error(message)
            raise TrainingInterrupted(message, name, None) from e
        message = interrupt_message(name, where, path)
        self.logger.warning(message)
        raise TrainingInterrupted(message, name, path)

    def _save_interrupted_checkpoint(self, out_dir: str) -> str:
        raise NotImplementedError

    def _already_saved(self, path: str) -> bool:
        """Whether the CheckpointHook has just written ``path`` for this very
        iteration."""
        last = ((self.meta or {}).get('hook_msgs') or {}).get('last_ckpt')
        return last == path and osp.isfile(path)
