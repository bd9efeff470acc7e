"""Seeding, and the random-number-generator states a checkpoint carries.

Seeding follows mmengine exactly (python, numpy, torch and CUDA from one
seed, in that order) so that a seed gives the same model initialisation and
data order here as there. The states are stored as plain lists and tensors so
that a checkpoint holding them still loads with ``weights_only=True``.
"""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch


def set_random_seed(seed: Optional[int] = None,
                    deterministic: bool = False,
                    diff_rank_seed: bool = False) -> int:
    """Seed python, numpy and torch (and every CUDA device); return the seed.

    ``seed=None`` draws one on rank 0 and shares it with all ranks;
    ``diff_rank_seed`` adds the rank so that ranks differ; ``deterministic``
    also asks cuDNN and torch for deterministic algorithms.
    """
    from engine.dist import get_rank, sync_random_seed
    if seed is None:
        seed = sync_random_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError('randomness seed must be an int or None, but got '
                        f'{type(seed).__name__}: {seed!r}')
    if diff_rank_seed:
        seed += get_rank()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        if torch.backends.cudnn.benchmark:
            from engine.logging import print_log
            print_log(
                'deterministic=True turns torch.backends.cudnn.benchmark off',
                logger='current', level=30)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)
    return seed


def get_rng_state() -> Dict[str, Any]:
    """The state of every global generator, as weights-only-safe values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        python=[version, list(internal), gauss],
        numpy=dict(
            kind=str(kind),
            keys=torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all()
        if torch.cuda.is_available() else [],
    )


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned. CUDA states are restored
    only when the device count matches (a different machine cannot replay
    the same CUDA streams anyway)."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['kind'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'],
         np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
