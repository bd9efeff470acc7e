"""Evaluation: metrics and the evaluator that drives them."""
from .evaluator import Evaluator
from .metric import BaseMetric, DumpResults
from .utils import get_metric_value

__all__ = ['BaseMetric', 'Evaluator', 'DumpResults', 'get_metric_value']
