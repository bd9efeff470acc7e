"""Evaluator and BaseMetric as a user sees them, in one process and with the
validation set split across two gloo processes."""
import io
import logging
import os
import pickle
import runpy
import uuid

import pytest
import torch

from engine.evaluator import (BaseMetric, DumpResults, Evaluator,
                              get_metric_value)
from engine.logging import MMLogger
from engine.registry import METRICS


# the two-process runner shared with the model wrapper tests
run_distributed = runpy.run_path(
    os.path.join(os.path.dirname(__file__), os.pardir, 'model',
                 'model_dist_helper.py'))['run_distributed']


@METRICS.register_module(force=True)
class EvaluatorTestMAE(BaseMetric):
    """Mean absolute error of predictions against ``targets`` of the batch;
    remembers sample order too."""

    default_prefix = 'mae'

    def process(self, data_batch, data_samples):
        for sample, target in zip(data_samples, data_batch['targets']):
            self.results.append(
                dict(err=(sample['pred'] - target).abs().item(),
                     index=sample['index']))

    def compute_metrics(self, results):
        return dict(value=sum(r['err'] for r in results) / len(results),
                    order=[r['index'] for r in results])


class Count(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(count=len(results))


class Sample:
    """A structured prediction handed to metrics as a dict."""

    def __init__(self, pred, index):
        self.pred, self.index = pred, index

    def to_dict(self):
        return dict(pred=self.pred, index=self.index)


PREDS = torch.arange(10, dtype=torch.float32) * 0.5
TARGETS = torch.arange(10, dtype=torch.float32)


def _feed(evaluator, indices, batch_size=2):
    for start in range(0, len(indices), batch_size):
        idx = indices[start:start + batch_size]
        evaluator.process([Sample(PREDS[i], i) for i in idx],
                          dict(targets=TARGETS[idx]))


def test_metrics_from_configs_and_instances_are_merged_and_prefixed():
    evaluator = Evaluator(
        [dict(type='EvaluatorTestMAE'),
         Count(prefix='n', collect_device='cpu')])
    _feed(evaluator, list(range(10)))
    metrics = evaluator.evaluate(10)
    assert metrics['mae/value'] == pytest.approx(
        (TARGETS - PREDS).abs().mean().item())
    assert metrics['mae/order'] == list(range(10)) and metrics['n/count'] == 10
    assert get_metric_value('count', metrics) == 10
    # results are cleared for the next evaluation
    assert all(not m.results for m in evaluator.metrics)


def test_single_metric_and_dataset_meta_reach_every_metric():
    metric = Count(prefix='c')
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=('a', 'b'))
    assert metric.dataset_meta == dict(classes=('a', 'b'))


def test_same_metric_names_are_an_error():
    evaluator = Evaluator([Count(prefix='x'), Count(prefix='x')])
    _feed(evaluator, [0, 1])
    with pytest.raises(ValueError, match="both produced 'x/count'"):
        evaluator.evaluate(2)


def test_bad_metrics_and_arguments():
    with pytest.raises(TypeError, match='BaseMetric instances or config '
                       'dicts, but got str'):
        Evaluator('EvaluatorTestMAE')
    with pytest.raises(KeyError, match='EvaluatorTestMA'):
        Evaluator(dict(type='EvaluatorTestMA'))
    with pytest.raises(ValueError, match="collect_device must be 'cpu' or "
                       "'gpu'"):
        Count(collect_device='cuda')
    with pytest.raises(ValueError, match='`collect_dir` can only be set'):
        Count(collect_device='gpu', collect_dir='/tmp')


def test_empty_results_warn_and_missing_prefix_warns():
    logger = MMLogger.get_instance(f'test_engine_evaluator_{uuid.uuid4().hex}')
    stream = io.StringIO()
    logger.handlers.append(logging.StreamHandler(stream))
    metric = Count()
    assert 'The prefix is not set in metric class Count' in stream.getvalue()
    assert Evaluator(metric).evaluate(0) == dict(count=0)
    assert 'Count got empty `self.results`' in stream.getvalue()


def test_offline_evaluate_feeds_chunks():
    evaluator = Evaluator(EvaluatorTestMAE())
    samples = [dict(pred=PREDS[i], index=i) for i in range(5)]
    data = [dict(targets=TARGETS[i]) for i in range(5)]
    metrics = evaluator.offline_evaluate(samples, data, chunk_size=2)
    assert metrics['mae/order'] == list(range(5))
    with pytest.raises(ValueError, match='same length'):
        evaluator.offline_evaluate(samples, data[:2])


def test_dump_results_writes_cpu_predictions(tmp_path):
    out = tmp_path / 'preds.pkl'
    evaluator = Evaluator(DumpResults(out_file_path=str(out)))
    evaluator.process([dict(pred=torch.ones(2))])
    assert evaluator.evaluate(1) == {}
    with open(out, 'rb') as f:
        assert torch.equal(pickle.load(f)[0]['pred'], torch.ones(2))
    with pytest.raises(ValueError, match='must end with .pkl'):
        DumpResults(out_file_path=str(tmp_path / 'preds.json'))


def _evaluate_shard(rank, world_size=2, size=9):
    # the default sampler's sharding of 9 samples over 2 ranks: rank r gets
    # r, r + 2, ...; the last rank is padded with sample 0
    indices = list(range(size)) + [0]
    evaluator = Evaluator(EvaluatorTestMAE())
    _feed(evaluator, indices[rank::world_size])
    return evaluator.evaluate(size)


def test_metric_over_two_ranks_equals_one_process():
    single = Evaluator(EvaluatorTestMAE())
    _feed(single, list(range(9)))
    expected = single.evaluate(9)
    for metrics in run_distributed(_evaluate_shard):
        assert metrics == expected
