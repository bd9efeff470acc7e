"""EvalHook: evaluate with dataset.evaluate during training, log the metrics,
keep the best checkpoint."""
import os

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import legacy
from legacy_scenarios import RegressionModel, regression_loader


class ScoredDataset(Dataset):
    """Evaluates to a score per call, read from a list (to test save_best)."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.results = []

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(x=torch.full((4, ), float(i)))

    def evaluate(self, results, logger=None, **kwargs):
        self.results.append(results)
        return dict(acc=self.scores.pop(0), **kwargs)


class PredictModel(RegressionModel):

    def forward(self, x, return_loss=True):
        return list(self.linear(x).detach())


def run_with_eval(logger, tmp_path, scores, **eval_kwargs):
    torch.manual_seed(0)
    model = PredictModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=len(scores),
        meta=dict())
    runner.register_training_hooks(
        lr_config=None, optimizer_config=dict(),
        log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook')]))
    dataset = ScoredDataset(scores)
    hook = legacy.EvalHook(DataLoader(dataset, batch_size=2), **eval_kwargs)
    runner.register_hook(hook, priority='LOW')
    runner.run([regression_loader(8, 4)], [('train', 1)])
    return runner, dataset


def test_eval_hook_evaluates_and_logs(logger, tmp_path):
    runner, dataset = run_with_eval(logger, tmp_path, [0.1, 0.2],
                                    interval=1, extra=7)
    assert len(dataset.results) == 2
    assert len(dataset.results[0]) == 4  # one result per sample
    assert runner.log_buffer.output == {}  # logged, then cleared
    log = next(tmp_path.glob('*.log.json')).read_text().splitlines()
    assert '"acc": 0.2' in log[-1] and '"extra": 7' in log[-1]
    assert '"iter": 2' in log[-1]  # eval_iter_num: batches of the loader


def test_eval_hook_keeps_the_best_checkpoint(logger, tmp_path):
    runner, _ = run_with_eval(logger, tmp_path, [0.3, 0.5, 0.4],
                              save_best='acc')
    files = sorted(os.listdir(tmp_path))
    assert 'best_acc_epoch_2.pth' in files
    assert 'best_acc_epoch_1.pth' not in files
    assert runner.meta['hook_msgs']['best_score'] == 0.5
    assert runner.meta['hook_msgs']['best_ckpt'] == str(
        tmp_path / 'best_acc_epoch_2.pth')
    meta = torch.load(tmp_path / 'best_acc_epoch_2.pth',
                      weights_only=True)['meta']
    assert meta['hook_msgs']['best_score'] == 0.5


def test_eval_hook_start_and_interval(logger, tmp_path):
    _, dataset = run_with_eval(logger, tmp_path, [0.1] * 5, start=2,
                               interval=2)
    # epochs 2 and 4 (and not 1, 3, 5)
    assert len(dataset.results) == 2


def test_eval_hook_rule_inference_and_errors():
    loader = DataLoader(ScoredDataset([]), batch_size=2)
    assert legacy.EvalHook(loader, save_best='mAP').rule == 'greater'
    assert legacy.EvalHook(loader, save_best='val_loss').rule == 'less'
    assert legacy.EvalHook(loader, save_best='auto').rule is None
    with pytest.raises(ValueError, match='Cannot infer the rule'):
        legacy.EvalHook(loader, save_best='f1')
    with pytest.raises(KeyError, match='rule must be'):
        legacy.EvalHook(loader, save_best='acc', rule='bigger')
    with pytest.raises(TypeError, match='DataLoader'):
        legacy.EvalHook([1, 2])
    with pytest.raises(ValueError, match='positive'):
        legacy.EvalHook(loader, interval=0)
    with pytest.raises(ValueError, match='smaller than 0'):
        legacy.EvalHook(loader, start=-1)


def test_dist_eval_hook_in_one_process(logger, tmp_path):
    torch.manual_seed(0)
    model = PredictModel()
    runner = legacy.EpochBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    dataset = ScoredDataset([0.7])
    runner.register_hook(
        legacy.DistEvalHook(DataLoader(dataset, batch_size=2)))
    runner.run([regression_loader(8, 4)], [('train', 1)])
    assert len(dataset.results[0]) == 4
    assert runner.log_buffer.output['acc'] == 0.7


def test_single_gpu_test_collects_per_sample_results():
    model = PredictModel()
    results = legacy.single_gpu_test(
        model, DataLoader(ScoredDataset([]), batch_size=3))
    assert len(results) == 4 and not model.training


def test_eval_hook_unknown_save_best_metric(logger, tmp_path):
    with pytest.raises(KeyError, match="save_best='top1'"):
        run_with_eval(logger, tmp_path, [0.1], save_best='top1')
