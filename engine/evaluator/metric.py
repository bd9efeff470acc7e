"""``BaseMetric``: accumulate per-batch results, gather them from all ranks
in dataset order, compute the metric once."""
import logging
import pickle
from abc import ABCMeta, abstractmethod
from typing import Any, List, Optional, Sequence

import torch

from engine.dist import broadcast_object_list, collect_results, get_rank
from engine.logging import print_log
from engine.registry import METRICS


class BaseMetric(metaclass=ABCMeta):
    """Base class of metrics.

    ``process`` turns a batch of predictions into entries of
    ``self.results``; ``evaluate(size)`` gathers the entries of every rank in
    dataset order (dropping the padding a distributed sampler adds, hence
    ``size``), calls ``compute_metrics`` on rank 0, prefixes the keys with
    ``prefix/`` and gives the same dict to every rank.

    Args:
        collect_device: 'cpu' (through pickled objects) or 'gpu' (through
            the device) for gathering results across ranks.
        prefix: key prefix; defaults to the class's ``default_prefix``.
        collect_dir: shared directory for gathering on the CPU through files
            (only with ``collect_device='cpu'``).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        if collect_device not in ('cpu', 'gpu'):
            raise ValueError("collect_device must be 'cpu' or 'gpu', but got "
                             f'{collect_device!r}')
        if collect_dir is not None and collect_device != 'cpu':
            raise ValueError("`collect_dir` can only be set with "
                             f"collect_device='cpu', not {collect_device!r}")
        self._dataset_meta: Optional[dict] = None
        self.collect_device = collect_device
        self.results: List[Any] = []
        self.prefix = prefix or self.default_prefix
        self.collect_dir = collect_dir
        if self.prefix is None:
            print_log(
                f'The prefix is not set in metric class '
                f'{type(self).__name__}.',
                logger='current',
                level=logging.WARNING)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta information of the evaluated dataset (classes, ...)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Append what ``compute_metrics`` needs from one batch to
        ``self.results``."""

    @abstractmethod
    def compute_metrics(self, results: list) -> dict:
        """The metrics (name -> value) of the whole dataset."""

    def evaluate(self, size: int) -> dict:
        """Gather the results of all ranks, compute and prefix the metrics,
        and clear the results for the next evaluation."""
        if not self.results:
            print_log(
                f'{type(self).__name__} got empty `self.results`: its '
                '`process` method must append the processed results of each '
                'batch to `self.results`.',
                logger='current',
                level=logging.WARNING)
        if self.collect_device == 'cpu':
            results = collect_results(
                self.results, size, 'cpu', tmpdir=self.collect_dir)
        else:
            results = collect_results(self.results, size, 'gpu')
        metrics = [None]
        if get_rank() == 0:
            computed = self.compute_metrics(_to_cpu(results))
            if not isinstance(computed, dict):
                raise TypeError(
                    f'{type(self).__name__}.compute_metrics must return a '
                    f'dict, but returned {type(computed).__name__}')
            if self.prefix:
                computed = {
                    f'{self.prefix}/{key}': value
                    for key, value in computed.items()
                }
            metrics = [computed]
        broadcast_object_list(metrics)
        self.results.clear()
        return metrics[0]


@METRICS.register_module()
class DumpResults(BaseMetric):
    """Write every prediction (on the CPU) to a pickle file for offline
    evaluation; computes no metric.

    Args:
        out_file_path: the ``.pkl``/``.pickle`` file to write.
        collect_device, collect_dir: see :class:`BaseMetric`.
    """

    def __init__(self,
                 out_file_path: str,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device, collect_dir=collect_dir)
        if not str(out_file_path).endswith(('.pkl', '.pickle')):
            raise ValueError('DumpResults: out_file_path must end with .pkl '
                             f'or .pickle, but got {out_file_path!r}')
        self.out_file_path = out_file_path

    def process(self, data_batch: Any, predictions: Sequence[dict]) -> None:
        self.results.extend(_to_cpu(predictions))

    def compute_metrics(self, results: list) -> dict:
        with open(self.out_file_path, 'wb') as f:
            pickle.dump(results, f)
        print_log(f'Results has been saved to {self.out_file_path}.',
                  logger='current')
        return {}


def _to_cpu(data: Any) -> Any:
    """``data`` with every tensor (or object with ``.to``) on the CPU."""
    if isinstance(data, torch.Tensor):
        return data.to('cpu')
    if isinstance(data, list):
        return [_to_cpu(item) for item in data]
    if isinstance(data, tuple):
        return tuple(_to_cpu(item) for item in data)
    if isinstance(data, dict):
        return {key: _to_cpu(value) for key, value in data.items()}
    to = getattr(data, 'to', None)
    if callable(to) and not isinstance(data, (str, bytes)):
        return to('cpu')
    return data
