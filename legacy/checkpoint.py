"""mmcv's checkpoint functions on the engine's checkpoint I/O.

Files are written atomically and read with ``weights_only=True`` by the engine
(``engine.runner.checkpoint``); this module only adds mmcv's layout:
``{'meta': {..., 'mmcv_version', 'time'}, 'state_dict', 'optimizer'}``, where
``optimizer`` is one state dict or a dict of them. Anything numpy in ``meta``
is turned into plain Python numbers or lists, so that every checkpoint written
here loads safely (mmcv's own files sometimes need ``weights_only=False``).
"""
import os
import os.path as osp
import platform
import shutil
import time
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch.optim import Optimizer

from engine.model import is_model_wrapper
from engine.runner.checkpoint import (CheckpointSaveError, get_state_dict,
                                      load_checkpoint, load_checkpoint_file,
                                      load_state_dict, weights_to_cpu)
from engine.runner.checkpoint import save_checkpoint as _save_file

# The checkpoint layout written here is mmcv 1.7.2's; tools that read
# meta['mmcv_version'] see the version whose format they get.
MMCV_FORMAT_VERSION = '1.7.2'

__all__ = [
    'save_checkpoint', 'load_checkpoint', 'load_checkpoint_file',
    'load_state_dict', 'weights_to_cpu', 'get_state_dict', 'plain_data',
    'link_latest'
]


def plain_data(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays replaced by Python numbers and
    lists (recursively through dicts, lists and tuples), so that it loads
    with ``torch.load(weights_only=True)``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: plain_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(plain_data(v) for v in obj)
    return obj


def save_checkpoint(model: torch.nn.Module,
                    filename: str,
                    optimizer: Optional[Any] = None,
                    meta: Optional[Dict] = None,
                    file_client_args: Optional[dict] = None) -> None:
    """Save the model weights, the optimizer state(s) and ``meta``.

    ``optimizer`` is an optimizer or a dict of them; ``meta`` gets
    ``mmcv_version`` and ``time`` added (and ``CLASSES`` when the model has
    them). The write is atomic: the previous file survives a failed save.
    """
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        raise TypeError(f'meta must be a dict or None, but got '
                        f'{type(meta).__name__}')
    if str(filename).startswith('pavi://'):
        raise ValueError(f'cannot save {filename}: only local paths are '
                         'supported (no pavi:// model cloud)')
    meta.update(mmcv_version=MMCV_FORMAT_VERSION, time=time.asctime())
    if is_model_wrapper(model):
        model = model.module
    classes = getattr(model, 'CLASSES', None)
    if classes is not None:
        meta.update(CLASSES=classes)

    checkpoint: Dict[str, Any] = {
        'meta': plain_data(meta),
        'state_dict': weights_to_cpu(get_state_dict(model)),
    }
    if isinstance(optimizer, Optimizer):
        checkpoint['optimizer'] = optimizer.state_dict()
    elif isinstance(optimizer, dict):
        checkpoint['optimizer'] = {
            name: optim.state_dict()
            for name, optim in optimizer.items()
        }
    elif optimizer is not None:
        raise TypeError('optimizer must be an Optimizer, a dict of them or '
                        f'None, but got {type(optimizer).__name__}')
    _save_file(checkpoint, filename, file_client_args=file_client_args)


def link_latest(out_dir: str, filename: str,
                link_name: str = 'latest.pth') -> None:
    """Point ``out_dir/link_name`` at ``filename`` (a relative symlink, or a
    copy where symlinks are not available), replacing it atomically."""
    dst = osp.join(out_dir, link_name)
    if platform.system() == 'Windows':
        shutil.copy(osp.join(out_dir, filename), dst)
        return
    tmp = osp.join(out_dir, f'.{link_name}.{os.getpid()}.tmp')
    try:
        if osp.lexists(tmp):
            os.remove(tmp)
        os.symlink(filename, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        if osp.lexists(tmp):
            os.remove(tmp)
        raise CheckpointSaveError(
            f'pointing {dst} at {filename} failed ({e.strerror or e}); it '
            'still points where it did before') from e
