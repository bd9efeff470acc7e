"""Distributed training on torch.distributed (torchrun, Slurm or MPI)."""
from .collectives import (all_gather, all_gather_object, all_reduce,
                          all_reduce_dict, all_reduce_params,
                          broadcast, broadcast_object_list, collect_results,
                          gather, gather_object, sync_random_seed)
from .env import LaunchEnv, first_host, parse_launch_env
from .failures import (RankFailedError, rank_failure_guard,
                       recorded_failures, report_rank_failures)
from .utils import (barrier, get_backend, get_comm_device, get_default_group,
                    get_dist_info, get_local_rank, get_local_size, get_rank,
                    get_world_size, infer_launcher, init_dist, is_distributed,
                    is_main_process, master_only)

__all__ = [
    'all_gather', 'all_gather_object', 'all_reduce', 'all_reduce_dict',
    'all_reduce_params', 'broadcast', 'broadcast_object_list',
    'collect_results', 'gather', 'gather_object', 'sync_random_seed',
    'LaunchEnv', 'first_host', 'parse_launch_env', 'RankFailedError',
    'rank_failure_guard', 'recorded_failures', 'report_rank_failures',
    'barrier', 'get_backend',
    'get_comm_device', 'get_default_group', 'get_dist_info', 'get_local_rank',
    'get_local_size', 'get_rank', 'get_world_size', 'infer_launcher',
    'init_dist', 'is_distributed', 'is_main_process', 'master_only'
]
