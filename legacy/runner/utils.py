"""Small mmcv runner helpers: host and time strings, seeding."""
import getpass
import os
import random
import socket
import time
import warnings

import numpy as np
import torch


def get_host_info() -> str:
    """``user@host``, or an empty string where it cannot be known (some
    containers have no user name)."""
    try:
        return f'{getpass.getuser()}@{socket.gethostname()}'
    except Exception as e:
        warnings.warn(f'Host or user not found: {e}')
        return ''


def get_time_str() -> str:
    """The local time as ``YYYYmmdd_HHMMSS`` (names the log files)."""
    return time.strftime('%Y%m%d_%H%M%S', time.localtime())


def set_random_seed(seed: int,
                    deterministic: bool = False,
                    use_rank_shift: bool = False) -> None:
    """Seed python, numpy and torch (CUDA included) as mmcv does; with
    ``use_rank_shift`` each rank adds its rank to the seed."""
    if use_rank_shift:
        from engine.dist import get_rank
        seed += get_rank()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ['PYTHONHASHSEED'] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
