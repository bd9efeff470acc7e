"""``Evaluator``: feeds predictions to one or more metrics and merges their
results."""
from collections.abc import Sequence
from typing import Any, Iterator, List, Optional, Union

from engine.registry import EVALUATOR, METRICS
from .metric import BaseMetric


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _as_dict(data_sample: Any) -> Any:
    """Structured samples (with ``to_dict``) become plain dicts, as metrics
    receive them; anything else is passed as is."""
    to_dict = getattr(data_sample, 'to_dict', None)
    return to_dict() if callable(to_dict) else data_sample


@EVALUATOR.register_module()
class Evaluator:
    """Run several metrics over the same predictions.

    Args:
        metrics: a metric, a config dict (built from ``METRICS``), or a list
            of either.
    """

    def __init__(self, metrics: Union[dict, BaseMetric, Sequence]):
        self._dataset_meta: Optional[dict] = None
        if isinstance(metrics, str) or not isinstance(metrics, Sequence):
            metrics = [metrics]
        self.metrics: List[BaseMetric] = []
        for metric in metrics:
            if isinstance(metric, dict):
                metric = METRICS.build(metric)
            if not (callable(getattr(metric, 'process', None))
                    and callable(getattr(metric, 'evaluate', None))):
                raise TypeError('Evaluator metrics must be BaseMetric '
                                'instances or config dicts, but got '
                                f'{type(metric).__name__}: {metric!r}')
            self.metrics.append(metric)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta information of the dataset, passed on to every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self,
                data_samples: Sequence,
                data_batch: Optional[Any] = None) -> None:
        """Hand one batch of predictions (and its input batch) to every
        metric."""
        samples = [_as_dict(sample) for sample in data_samples]
        for metric in self.metrics:
            metric.process(data_batch, samples)

    def evaluate(self, size: int) -> dict:
        """The merged metrics of all metrics; ``size`` is the dataset
        length (see :meth:`BaseMetric.evaluate`)."""
        metrics = {}
        for metric in self.metrics:
            results = metric.evaluate(size)
            for name in results:
                if name in metrics:
                    raise ValueError(
                        f'two metrics both produced {name!r}; give them '
                        'different prefixes')
            metrics.update(results)
        return metrics

    def offline_evaluate(self,
                         data_samples: Sequence,
                         data: Optional[Sequence] = None,
                         chunk_size: int = 1) -> dict:
        """Evaluate saved predictions (and optionally their inputs), fed to
        the metrics ``chunk_size`` samples at a time."""
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError('chunk_size must be a positive int, but got '
                             f'{chunk_size!r}')
        if data is not None:
            if len(data_samples) != len(data):
                raise ValueError(
                    'data_samples and data should have the same length, but '
                    f'got {len(data_samples)} and {len(data)}')
            data_chunks = _chunks(iter(data), chunk_size)
        size = 0
        for output_chunk in _chunks(iter(data_samples), chunk_size):
            data_chunk = None
            if data is not None:
                from engine.dataset import pseudo_collate
                data_chunk = pseudo_collate(next(data_chunks))
            size += len(output_chunk)
            self.process(output_chunk, data_chunk)
        return self.evaluate(size)
