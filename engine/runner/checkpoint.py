"""Checkpoint files: atomic writes, safe reads, and loading weights into models.

A crash, a full disk or a killed process while saving must never destroy the
checkpoint a run would resume from, so every file here is written next to its
final name and moved into place with ``os.replace`` only once it is complete
and on disk. Reading uses ``torch.load(weights_only=True)``: a checkpoint is
data, and loading one must not execute code. Our own checkpoints only hold
types that load that way.
"""
import logging
import os
import os.path as osp
import pickle
import re
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple, Union)

import torch
import torch.nn as nn

MapLocation = Union[str, torch.device, Callable, Dict, None]
DEFAULT_REVISE_KEYS = [(r'^module\.', '')]


class CheckpointLoadError(RuntimeError):
    """A checkpoint file could not be read; the message names file and cause."""


class CheckpointNotFoundError(CheckpointLoadError, FileNotFoundError):
    """The checkpoint file does not exist (also a ``FileNotFoundError``, which
    is what callers of mmengine's loader catch)."""


class CheckpointSaveError(OSError):
    """Writing a checkpoint failed; the file that was there before is intact."""


# ----------------------------------------------------------------- writing
def _check_backend(backend_args: Optional[dict],
                   file_client_args: Optional[dict]) -> None:
    """Only the local file system is supported; say so instead of silently
    writing somewhere else than the user asked."""
    if file_client_args is not None and backend_args is not None:
        raise ValueError('"file_client_args" and "backend_args" cannot be '
                         'set at the same time.')
    for name, args in (('backend_args', backend_args),
                       ('file_client_args', file_client_args)):
        if args is None:
            continue
        if not isinstance(args, dict):
            raise TypeError(f'{name} must be a dict or None, but got '
                            f'{type(args).__name__}: {args!r}')
        backend = args.get('backend', 'local')
        if backend not in ('local', 'disk', 'HardDiskBackend',
                           'LocalBackend'):
            raise ValueError(
                f'{name}={args!r} asks for the storage backend {backend!r}; '
                'only the local file system is supported')


def _fsync_dir(dirname: str) -> None:
    """Make a rename durable: the directory entry itself must reach disk."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:  # platforms without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(filename: str, write: Callable[[Any], None],
                  mode: str) -> None:
    """Write through ``write(fileobj)`` into a temporary file in the target
    directory, flush and fsync it, then rename it over ``filename``.

    On any failure the temporary file is removed and the previous content of
    ``filename`` (if any) is left untouched.
    """
    filename = osp.abspath(osp.expanduser(filename))
    dirname = osp.dirname(filename)
    try:
        os.makedirs(dirname, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=dirname, prefix=f'.{osp.basename(filename)}.', suffix='.tmp')
    except OSError as e:
        raise CheckpointSaveError(
            f'cannot write {filename}: {e.strerror or e}') from e
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        if isinstance(e, Exception) and not isinstance(e, CheckpointSaveError):
            reason = e.strerror if isinstance(e, OSError) and e.strerror \
                else f'{type(e).__name__}: {e}'
            raise CheckpointSaveError(
                f'saving {filename} failed ({reason}); the previous file at '
                'that path, if any, is unchanged') from e
        raise
    _fsync_dir(dirname)


def save_checkpoint(checkpoint: dict,
                    filename: str,
                    file_client_args: Optional[dict] = None,
                    backend_args: Optional[dict] = None) -> None:
    """Save ``checkpoint`` to ``filename`` atomically.

    Readers see either the old file or the complete new one, never a partial
    write; a failure raises :class:`CheckpointSaveError` and keeps the old one.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError('checkpoint must be a dict, but got '
                        f'{type(checkpoint).__name__}')
    _check_backend(backend_args, file_client_args)
    _atomic_write(str(filename), lambda f: torch.save(checkpoint, f), 'wb')


def write_text_atomic(filename: str, text: str) -> None:
    """Replace a small text file (the ``last_checkpoint`` pointer) atomically,
    so a crash never leaves a pointer to nowhere or a half-written path."""
    _atomic_write(str(filename), lambda f: f.write(text), 'w')


# what _atomic_write's temporary files are called: .<name>.<8 random>.tmp
_TEMP_NAME = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def remove_stale_temp_files(dirname: str) -> List[str]:
    """Remove the temporary files of saves that never finished (a process
    killed while writing cannot clean up after itself) from ``dirname``;
    returns their paths. Call it before a run writes there, not while
    another process saves into the same directory."""
    removed: List[str] = []
    if not dirname:
        return removed
    try:
        names = os.listdir(dirname)
    except OSError:
        return removed
    for name in names:
        path = osp.join(dirname, name)
        if _TEMP_NAME.match(name) and osp.isfile(path):
            try:
                os.remove(path)
            except OSError:
                continue
            removed.append(path)
    return removed


def find_latest_checkpoint(path: str) -> Optional[str]:
    """Return the checkpoint named by ``path/last_checkpoint``, or None.

    A pointer to a file that no longer exists is reported and ignored rather
    than handed on to fail later inside ``torch.load``.
    """
    pointer = osp.join(path, 'last_checkpoint')
    if not osp.exists(pointer):
        _log(f'No last_checkpoint file in {path}; nothing to resume from.',
             logging.INFO)
        return None
    with open(pointer) as f:
        last = f.read().strip()
    if not last:
        _log(f'{pointer} is empty; nothing to resume from.', logging.WARNING)
        return None
    if not osp.isabs(last) and not osp.exists(last):
        last = osp.join(path, last)
    if not osp.isfile(last):
        _log(f'{pointer} names {last}, which does not exist; nothing to '
             'resume from.', logging.WARNING)
        return None
    return last


# ----------------------------------------------------------------- reading
def _describe_load_failure(filename: str, err: BaseException,
                           weights_only: bool) -> str:
    text = str(err)
    if weights_only and isinstance(err, pickle.UnpicklingError) and (
            'Unsupported global' in text or 'not an allowed global' in text):
        detail = next((line.strip() for line in text.splitlines()
                       if 'Unsupported global' in line), text.splitlines()[0])
        return (f'{filename} holds objects that a safe load '
                f'(weights_only=True) refuses ({detail}). Load it with '
                'weights_only=False only if you trust where the file came '
                'from.')
    if isinstance(err, (EOFError, zipfile.BadZipFile)) or (
            'central directory' in text or 'not a ZIP archive' in text
            or 'negative seek' in text or 'unexpected EOF' in text):
        return (f'{filename} is truncated or corrupt ({type(err).__name__}: '
                f'{text.splitlines()[0] if text else "end of file"}); it was '
                'probably written by an interrupted save')
    first = text.splitlines()[0] if text else type(err).__name__
    return f'{filename} could not be read as a checkpoint ({first})'


def _check_file(path: str, verify: bool) -> None:
    """Reject what ``torch.load`` would misreport or, worse, accept.

    A file that is neither a zip archive (torch's format) nor a pickle is not
    a checkpoint at all; torch would suggest ``weights_only=False`` for it.
    And torch does not check the CRC-32 that every zip entry carries, so a
    checkpoint damaged on disk or in transfer loads silently with wrong
    weights; ``verify`` reads it once more to check them (about half the
    time of loading it).
    """
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(16)
        if head.startswith(b'PK\x03\x04'):  # a zip without its directory
            raise CheckpointLoadError(
                f'{path} is truncated or corrupt (the end of its zip '
                'archive is missing); it was probably written by an '
                'interrupted save')
        if not head.startswith(b'\x80'):  # a pickle starts with PROTO
            raise CheckpointLoadError(
                f'{path} is not a checkpoint written by torch.save (it '
                f'starts with {head!r})')
        return
    if not verify:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
        raise CheckpointLoadError(
            f'{path} is truncated or corrupt ({type(e).__name__}: {e})') from e
    if damaged is not None:
        raise CheckpointLoadError(
            f'{path} is corrupt: the data of its entry {damaged!r} does not '
            'match the checksum written with it; the file was damaged after '
            'it was saved (disk or transfer error)')


def load_checkpoint_file(filename: str,
                         map_location: MapLocation = None,
                         weights_only: bool = True,
                         verify: bool = True) -> Any:
    """Read a checkpoint file, safely by default.

    Raises :class:`CheckpointLoadError` naming the file and the problem for a
    missing, empty, truncated, damaged or foreign file, and says when the
    file needs ``weights_only=False``. ``verify`` checks the checksums of the
    archive first (see :func:`_check_file`).
    """
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError('filename must be a path, but got '
                        f'{type(filename).__name__}: {filename!r}')
    path = osp.expanduser(os.fspath(filename))
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'checkpoint {path} does not exist' +
            (' (it is a directory)' if osp.isdir(path) else ''))
    if osp.getsize(path) == 0:
        raise CheckpointLoadError(f'checkpoint {path} is empty (0 bytes); it '
                                  'was probably written by an interrupted '
                                  'save')
    _check_file(path, verify)
    try:
        return torch.load(
            path, map_location=map_location, weights_only=weights_only)
    except Exception as e:  # torch raises many types for broken files
        raise CheckpointLoadError(
            _describe_load_failure(path, e, weights_only)) from e


def _load_checkpoint(filename: str,
                     map_location: MapLocation = None,
                     logger: Any = None) -> Any:
    """mmengine's private loader name, kept because downstream code calls it."""
    return load_checkpoint_file(filename, map_location)


# ------------------------------------------------------- state dicts
def _unwrap(module: nn.Module) -> nn.Module:
    from engine.model import is_model_wrapper
    while is_model_wrapper(module):
        module = module.module
    return module


def weights_to_cpu(state_dict: Dict) -> Dict:
    """Copy of ``state_dict`` with every tensor on the CPU; the ``_metadata``
    torch uses for versioned loading is kept."""
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    result = _to_cpu(state_dict)
    result._metadata = metadata
    return result


def _to_cpu(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.cpu()
    if isinstance(data, dict):
        out = type(data)()
        for key, value in data.items():
            out[key] = _to_cpu(value)
        return out
    if isinstance(data, (list, tuple)):
        items = [_to_cpu(v) for v in data]
        if hasattr(data, '_fields'):  # namedtuple
            return type(data)(*items)
        return type(data)(items)
    return data


def get_state_dict(module: nn.Module,
                   destination: Optional[Dict] = None,
                   prefix: str = '',
                   keep_vars: bool = False) -> Dict:
    """``module.state_dict()`` with every model wrapper (DDP and friends)
    skipped, also when one is nested inside the model, so keys never carry a
    wrapper's ``module.`` prefix."""
    module = _unwrap(module)
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()
    local_metadata = dict(version=module._version)
    destination._metadata[prefix[:-1]] = local_metadata
    for hook in module._state_dict_pre_hooks.values():
        hook(module, prefix, keep_vars)
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            get_state_dict(child, destination, f'{prefix}{name}.', keep_vars)
    for hook in module._state_dict_hooks.values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination


def load_state_dict(module: nn.Module,
                    state_dict: Dict,
                    strict: bool = False,
                    logger: Any = None) -> None:
    """Load ``state_dict`` into ``module`` (model wrappers skipped at any
    depth) and report keys that do not match.

    Unlike ``nn.Module.load_state_dict`` the default is lenient: mismatches
    are logged as a warning, and raise ``RuntimeError`` only with
    ``strict=True``. ``num_batches_tracked`` buffers may be missing silently.
    """
    if not isinstance(state_dict, dict):
        raise TypeError('state_dict must be a dict, but got '
                        f'{type(state_dict).__name__}')
    missing: List[str] = []
    unexpected: List[str] = []
    errors: List[str] = []
    metadata = getattr(state_dict, '_metadata', None)

    def visit(mod: nn.Module, local: Dict, prefix: str) -> None:
        mod = _unwrap(mod)
        local_meta = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(local, prefix, local_meta, True, missing,
                                  unexpected, errors)
        for name, child in mod._modules.items():
            if child is None:
                continue
            child_prefix = f'{prefix}{name}.'
            visit(child, {k: v for k, v in local.items()
                          if k.startswith(child_prefix)}, child_prefix)
        for hook in mod._load_state_dict_post_hooks.values():
            hook(mod, _IncompatibleKeys(missing, unexpected))

    visit(module, dict(state_dict), '')
    missing = [k for k in missing if 'num_batches_tracked' not in k]
    problems = list(errors)
    if unexpected:
        problems.append('unexpected key in source state_dict: ' +
                        ', '.join(unexpected))
    if missing:
        problems.append('missing keys in source state_dict: ' +
                        ', '.join(missing))
    if not problems:
        return
    from engine.dist import get_rank
    message = '\n'.join(
        ['The model and loaded state dict do not match exactly'] + problems)
    if strict:
        raise RuntimeError(message)
    if get_rank() == 0:
        _log(message, logging.WARNING, logger)


class _IncompatibleKeys(tuple):
    """What ``register_load_state_dict_post_hook`` hooks receive."""

    def __new__(cls, missing_keys: list, unexpected_keys: list):
        return super().__new__(cls, (missing_keys, unexpected_keys))

    @property
    def missing_keys(self) -> list:
        return self[0]

    @property
    def unexpected_keys(self) -> list:
        return self[1]


def revise_state_dict_keys(
        state_dict: Dict,
        revise_keys: Iterable[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> Dict:
    """Rename keys by ``(pattern, replacement)`` regular expressions, in order;
    by default this strips the ``module.`` prefix a DDP-wrapped save leaves."""
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        regex = re.compile(pattern)
        state_dict = OrderedDict(
            (regex.sub(replacement, k), v) for k, v in state_dict.items())
    state_dict._metadata = metadata
    return state_dict


def _load_checkpoint_to_model(
        model: nn.Module,
        checkpoint: Dict,
        strict: bool = False,
        logger: Any = None,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> Dict:
    """Load the weights of an already read checkpoint into ``model``."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict):
        raise TypeError('checkpoint["state_dict"] must be a dict of tensors, '
                        f'but got {type(state_dict).__name__}')
    load_state_dict(model, revise_state_dict_keys(state_dict, revise_keys),
                    strict, logger)
    return checkpoint


def load_checkpoint(
        model: nn.Module,
        filename: str,
        map_location: MapLocation = None,
        strict: bool = False,
        logger: Any = None,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> Dict:
    """Read ``filename`` safely and load its weights into ``model``.

    Accepts both a full checkpoint (``{'state_dict': ...}``) and a bare state
    dict. Returns the checkpoint.
    """
    checkpoint = load_checkpoint_file(filename, map_location)
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(
            f'{filename} holds a {type(checkpoint).__name__}, not a dict with '
            'a state_dict')
    return _load_checkpoint_to_model(model, checkpoint, strict, logger,
                                     revise_keys)


def _log(msg: str, level: int, logger: Any = None) -> None:
    from engine.logging import print_log
    print_log(msg, logger='current' if logger is None else logger,
              level=level)
