"""IterBasedRunner the way an mmcv user drives it."""
import pytest
import torch
from torch.utils.data import DataLoader

import legacy
from legacy_scenarios import RegressionModel, regression_loader


class EpochSampler(torch.utils.data.SequentialSampler):

    def __init__(self, data):
        super().__init__(data)
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_iter_loader_restarts_and_counts_passes():
    data = list(range(5))
    sampler = EpochSampler(data)
    loader = legacy.IterLoader(DataLoader(data, batch_size=2,
                                          sampler=sampler))
    batches = [next(loader).tolist() for _ in range(7)]
    assert batches == [[0, 1], [2, 3], [4], [0, 1], [2, 3], [4], [0, 1]]
    assert loader.epoch == 2 and sampler.epochs == [1, 2]
    assert len(loader) == 3


def test_iter_loader_starts_after_the_iterations_done():
    data = list(range(5))
    sampler = EpochSampler(data)
    loaded = []

    class Recording(torch.utils.data.Dataset):

        def __len__(self):
            return 5

        def __getitem__(self, i):
            loaded.append(i)
            return i

    loader = DataLoader(Recording(), batch_size=2, sampler=sampler)
    iter_loader = legacy.IterLoader(loader, start_iter=4)
    assert iter_loader.epoch == 1 and sampler.epochs == [1]
    assert [next(iter_loader).tolist() for _ in range(3)] == [[2, 3], [4],
                                                              [0, 1]]
    # the skipped batch of the second pass was never loaded
    assert loaded == [2, 3, 4, 0, 1]


def test_iter_runner_workflow_and_counters(logger, tmp_path):
    seen = []

    class Recorder(legacy.Hook):

        def before_train_iter(self, runner):
            seen.append(('train', runner.iter, runner.inner_iter,
                         runner.epoch))

        def before_val_iter(self, runner):
            seen.append(('val', runner.iter, runner.inner_iter,
                         runner.epoch))

    torch.manual_seed(0)
    model = RegressionModel()
    runner = legacy.IterBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        work_dir=str(tmp_path), logger=logger, max_iters=5)
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[3]), optimizer_config=dict(),
        log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))
    runner.register_hook(Recorder())
    runner.run([regression_loader(8, 4), regression_loader(4, 4)],
               [('train', 3), ('val', 1)])
    # runner.epoch is the loader's pass count *before* fetching the batch
    # (a pass that restarts inside next() shows up one iteration later), and
    # inner_iter restarts at each workflow phase, as in mmcv
    assert seen == [
        ('train', 0, 0, 0), ('train', 1, 1, 0), ('train', 2, 2, 0),
        ('val', 3, 0, 0),
        ('train', 3, 0, 1), ('train', 4, 1, 1),
        ('val', 5, 0, 1),
    ]
    # lr/logger/checkpoint hooks count iterations in the iteration runner
    lr_hook = runner.hooks[0]
    logger_hook = next(h for h in runner.hooks
                       if isinstance(h, legacy.TextLoggerHook))
    assert lr_hook.by_epoch is False and logger_hook.by_epoch is False
    assert runner.optimizer.param_groups[0]['lr'] == pytest.approx(0.01)


def test_iter_runner_needs_max_iters_and_train_step(logger):
    model = RegressionModel()
    runner = legacy.IterBasedRunner(model, logger=logger)
    with pytest.raises(ValueError, match='max_iters must be given'):
        runner.run([regression_loader()], [('train', 1)])

    def batch_processor(model, data, train_mode):
        return {}

    with pytest.warns(DeprecationWarning):
        runner = legacy.IterBasedRunner(
            torch.nn.Linear(1, 1), batch_processor=batch_processor,
            logger=logger, max_iters=1)
    with pytest.raises(ValueError, match='batch_processor'):
        runner.run([regression_loader()], [('train', 1)])


def test_iter_runner_train_step_must_return_a_dict(logger):

    class Bad(RegressionModel):

        def train_step(self, data, optimizer=None):
            return [1]

    runner = legacy.IterBasedRunner(Bad(), logger=logger, max_iters=2)
    with pytest.raises(TypeError, match=r'Bad\.train_step\(\) returned list'):
        runner.run([regression_loader()], [('train', 1)])
