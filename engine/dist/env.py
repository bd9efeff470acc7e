"""Reading a launcher's environment (torchrun, Slurm, Open MPI).

Kept apart from process-group creation so it can be tested with a prepared
mapping instead of a real cluster.
"""
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional

DEFAULT_PORT = '29500'
LAUNCHERS = ('pytorch', 'slurm', 'mpi')


@dataclass(frozen=True)
class LaunchEnv:
    """Where this process sits in the job, as torch.distributed needs it."""
    rank: int
    world_size: int
    local_rank: int
    master_addr: Optional[str]
    master_port: str

    def as_environ(self) -> dict:
        """The variables ``init_process_group(init_method='env://')`` reads.
        """
        env = dict(
            RANK=str(self.rank),
            WORLD_SIZE=str(self.world_size),
            LOCAL_RANK=str(self.local_rank),
            MASTER_PORT=self.master_port)
        if self.master_addr is not None:
            env['MASTER_ADDR'] = self.master_addr
        return env


def _require(environ: Mapping[str, str], name: str, launcher: str) -> str:
    if name not in environ:
        raise KeyError(
            f"launcher={launcher!r} needs the environment variable {name}, "
            f'which is not set; start the job with '
            f'{_HOW_TO_LAUNCH[launcher]}')
    return environ[name]


def _int_var(environ: Mapping[str, str], name: str, launcher: str) -> int:
    value = _require(environ, name, launcher)
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f'environment variable {name} must be an integer, got '
            f'{value!r}') from None


_HOW_TO_LAUNCH = {
    'pytorch': 'torchrun (e.g. torchrun --nproc_per_node=2 train.py)',
    'slurm': 'srun inside a Slurm allocation',
    'mpi': 'mpirun (Open MPI)',
}


def _split_top_level(text: str) -> List[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char == '[') - (char == ']')
        if char == ',' and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def first_host(nodelist: str) -> str:
    """The first host of a Slurm node list.

    ``'node[07-09,12],gpu3'`` -> ``'node07'``; every bracket group
    contributes its first entry, zero padding kept
    (``'rack[1-2]-n[001-004]'`` -> ``'rack1-n001'``).
    """
    head = _split_top_level(nodelist.strip())[0]
    host = re.sub(r'\[([^\]]*)\]',
                  lambda m: re.split(r'[,-]', m.group(1))[0], head)
    if not host:
        raise ValueError(f'cannot read a host from SLURM_NODELIST '
                         f'{nodelist!r}')
    return host


def scontrol_first_host(nodelist: str) -> Optional[str]:
    """Ask Slurm for the first host (None without ``scontrol``)."""
    if shutil.which('scontrol') is None:
        return None
    out = subprocess.run(['scontrol', 'show', 'hostnames', nodelist],
                         capture_output=True, text=True, timeout=30)
    lines = out.stdout.split()
    return lines[0] if out.returncode == 0 and lines else None


def parse_launch_env(
        launcher: str,
        environ: Optional[Mapping[str, str]] = None,
        port: Optional[int] = None,
        resolve_host: Callable[[str], Optional[str]] = scontrol_first_host,
        num_devices: int = 0) -> LaunchEnv:
    """Rank, world size, local rank and master address of this process.

    Args:
        launcher: 'pytorch' (torchrun), 'slurm' or 'mpi'.
        environ: the environment to read (default ``os.environ``).
        port: master port for Slurm (wins over ``MASTER_PORT``).
        resolve_host: maps SLURM_NODELIST to the master host; when it gives
            None the node list is parsed here.
        num_devices: GPUs per node, to derive the Slurm local rank when
            SLURM_LOCALID is missing.
    """
    env = os.environ if environ is None else environ
    if launcher == 'pytorch':
        rank = _int_var(env, 'RANK', launcher)
        world_size = _int_var(env, 'WORLD_SIZE', launcher)
        local_rank = int(env.get('LOCAL_RANK', rank))
        return LaunchEnv(rank, world_size, local_rank, env.get('MASTER_ADDR'),
                         env.get('MASTER_PORT', DEFAULT_PORT))
    if launcher == 'slurm':
        rank = _int_var(env, 'SLURM_PROCID', launcher)
        world_size = _int_var(env, 'SLURM_NTASKS', launcher)
        nodelist = _require(env, 'SLURM_NODELIST', launcher)
        if 'SLURM_LOCALID' in env:
            local_rank = _int_var(env, 'SLURM_LOCALID', launcher)
        else:
            local_rank = rank % num_devices if num_devices else 0
        addr = env.get('MASTER_ADDR')
        if addr is None:
            addr = resolve_host(nodelist) or first_host(nodelist)
        master_port = str(port) if port is not None else env.get(
            'MASTER_PORT', DEFAULT_PORT)
        return LaunchEnv(rank, world_size, local_rank, addr, master_port)
    if launcher == 'mpi':
        rank = _int_var(env, 'OMPI_COMM_WORLD_RANK', launcher)
        world_size = _int_var(env, 'OMPI_COMM_WORLD_SIZE', launcher)
        local_rank = _int_var(env, 'OMPI_COMM_WORLD_LOCAL_RANK', launcher)
        if 'MASTER_ADDR' not in env:
            raise KeyError(
                "launcher='mpi' needs MASTER_ADDR (the address of rank 0) "
                'in the environment, e.g. mpirun -x MASTER_ADDR=host0 ...')
        return LaunchEnv(rank, world_size, local_rank, env['MASTER_ADDR'],
                         env.get('MASTER_PORT', DEFAULT_PORT))
    raise ValueError(
        f'launcher must be one of {LAUNCHERS}, got {launcher!r}')


def infer_launcher(environ: Optional[Mapping[str, str]] = None) -> str:
    """The launcher whose variables are present, or 'none'."""
    env = os.environ if environ is None else environ
    if 'WORLD_SIZE' in env:
        return 'pytorch'
    if 'SLURM_NTASKS' in env:
        return 'slurm'
    if 'OMPI_COMM_WORLD_LOCAL_RANK' in env:
        return 'mpi'
    return 'none'
