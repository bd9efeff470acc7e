"""The LrUpdaterHook / MomentumUpdaterHook families against the lr and
momentum the real mmcv 1.7.2 set before every iteration.

The fixture (tests/engine/optim/fixtures/mmcv_policies.json) and its
scenarios (tests/engine/optim/optim_scenarios.py) were recorded for the
engine's closed forms by tests/engine/optim/record_schedules.py, driving real
mmcv runners; here the same runs are replayed with the legacy runners and
hooks, exactly as that recorder drove mmcv's.
"""
import copy
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import legacy

OPTIM_TESTS = Path(__file__).resolve().parents[1] / 'engine' / 'optim'
FIXTURE = OPTIM_TESTS / 'fixtures' / 'mmcv_policies.json'
sys.path.insert(0, str(OPTIM_TESTS))
import optim_scenarios as sc  # noqa: E402

RECORDED = json.loads(FIXTURE.read_text())


class ToyModel(nn.Module):
    """The recorder's model: no optimizer hook, so only the hooks move."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def train_step(self, data, optimizer=None, **kwargs):
        loss = self.linear(data[0]).sum()
        return dict(loss=loss, log_vars={}, num_samples=1)


def replay(scenario: dict, work_dir: str, logger) -> dict:
    records = dict(lr=[], momentum=[])

    class Recorder(legacy.Hook):

        def before_train_iter(self, runner):
            groups = runner.optimizer.param_groups
            records['lr'].append(sc.hexify(g['lr'] for g in groups))
            records['momentum'].append(
                sc.hexify(sc.momentum_of(g) for g in groups))

    torch.manual_seed(0)
    model = ToyModel()
    cfg = dict(scenario['optimizer'])
    optimizer = getattr(torch.optim, cfg.pop('type'))(
        sc.mmcv_param_groups(scenario, model), **cfg)
    loader = DataLoader(TensorDataset(
        torch.randn(scenario['epoch_length'], 2)), batch_size=1)
    if scenario['runner'] == 'epoch':
        runner = legacy.EpochBasedRunner(
            model, optimizer=optimizer, work_dir=work_dir, logger=logger,
            max_epochs=scenario['epochs'])
    else:
        runner = legacy.IterBasedRunner(
            model, optimizer=optimizer, work_dir=work_dir, logger=logger,
            max_iters=scenario['max_iters'])
    runner.register_training_hooks(
        lr_config=copy.deepcopy(scenario['lr_config']),
        momentum_config=copy.deepcopy(scenario['momentum_config']))
    runner.register_hook(Recorder(), priority='LOWEST')
    runner.run([loader], [('train', 1)])
    return records


@pytest.mark.parametrize('name', sorted(RECORDED))
def test_policy_matches_mmcv_at_every_iteration(name, tmp_path, logger):
    expected = RECORDED[name]
    scenario = expected['scenario']
    for key in ('lr_config', 'momentum_config'):
        # JSON turned tuples into lists; mmcv's hooks want tuples there
        if scenario[key] and isinstance(scenario[key].get('target_ratio'),
                                        list):
            scenario[key]['target_ratio'] = tuple(
                scenario[key]['target_ratio'])
    got = replay(scenario, str(tmp_path), logger)
    for kind in expected['records']:
        want = expected['records'][kind]
        assert len(got[kind]) == len(want)
        for i, (a, b) in enumerate(zip(got[kind], want)):
            assert a == b, f'{kind} at iteration {i}: got {a}, mmcv {b}'


def test_hook_classes_keep_mmcv_arguments():
    hook = legacy.StepLrUpdaterHook(step=[2, 3], gamma=0.5, min_lr=1e-4,
                                    warmup='linear', warmup_iters=5)
    assert (hook.step, hook.gamma, hook.min_lr) == ([2, 3], 0.5, 1e-4)
    assert (hook.by_epoch, hook.warmup, hook.warmup_iters,
            hook.warmup_ratio) == (True, 'linear', 5, 0.1)
    hook = legacy.CosineAnnealingLrUpdaterHook(
        min_lr_ratio=0.01, warmup='exp', warmup_iters=2,
        warmup_by_epoch=True)
    assert hook.warmup_iters is None and hook.warmup_epochs == 2
    assert legacy.OneCycleLrUpdaterHook(max_lr=0.1).by_epoch is False
    hook = legacy.CyclicLrUpdaterHook(target_ratio=5.)
    assert hook.target_ratio == (5., 5e-5)
    assert legacy.OneCycleMomentumUpdaterHook().by_epoch is False
    assert legacy.HOOKS.get('PolyLrUpdaterHook') is legacy.PolyLrUpdaterHook


@pytest.mark.parametrize('make,error,match', [
    (lambda: legacy.StepLrUpdaterHook(step='1'), TypeError, 'step'),
    (lambda: legacy.StepLrUpdaterHook(step=[0]), ValueError, 'positive'),
    (lambda: legacy.CosineAnnealingLrUpdaterHook(), ValueError,
     'exactly one of min_lr and min_lr_ratio'),
    (lambda: legacy.FixedLrUpdaterHook(warmup='cos', warmup_iters=2),
     ValueError, 'not a supported type'),
    (lambda: legacy.FixedLrUpdaterHook(warmup='linear'), ValueError,
     'warmup_iters'),
    (lambda: legacy.FixedLrUpdaterHook(
        warmup='linear', warmup_iters=1, warmup_ratio=2), ValueError,
     'warmup_ratio'),
    (lambda: legacy.CyclicLrUpdaterHook(by_epoch=True), ValueError,
     'by_epoch=False'),
    (lambda: legacy.CyclicLrUpdaterHook(target_ratio=[1, 2]), ValueError,
     'target_ratio'),
    (lambda: legacy.OneCycleLrUpdaterHook(max_lr=1, pct_start=1),
     ValueError, 'pct_start'),
    (lambda: legacy.OneCycleLrUpdaterHook(max_lr=1, anneal_strategy='exp'),
     ValueError, 'anneal_strategy'),
    (lambda: legacy.CosineRestartLrUpdaterHook(
        periods=[1, 2], min_lr=0), ValueError, 'same length'),
    (lambda: legacy.OneCycleMomentumUpdaterHook(base_momentum=1),
     ValueError, 'base_momentum'),
])
def test_bad_policy_arguments_are_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_base_hooks_need_get_lr_and_get_momentum(logger, tmp_path):

    class Half(legacy.LrUpdaterHook):

        def get_lr(self, runner, base_lr):
            return base_lr / 2

    class Broken(legacy.MomentumUpdaterHook):
        pass

    torch.manual_seed(0)
    model = ToyModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.4, momentum=0.9)
    runner = legacy.EpochBasedRunner(model, optimizer=optimizer,
                                     logger=logger, max_epochs=1)
    runner.register_lr_hook(Half(warmup='constant', warmup_iters=1))
    runner.register_momentum_hook(Broken())
    loader = DataLoader(TensorDataset(torch.randn(3, 2)), batch_size=1)
    with pytest.raises(NotImplementedError, match='Broken must implement'):
        runner.run([loader], [('train', 1)])
    assert optimizer.param_groups[0]['lr'] == 0.2


def test_one_cycle_total_steps_shorter_than_the_run(logger):
    model = ToyModel()
    runner = legacy.IterBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        logger=logger, max_iters=10)
    runner.register_lr_hook(
        legacy.OneCycleLrUpdaterHook(max_lr=0.1, total_steps=5))
    loader = DataLoader(TensorDataset(torch.randn(3, 2)), batch_size=1)
    with pytest.raises(ValueError, match='total steps must be greater'):
        runner.run([loader], [('train', 1)])


def test_warmup_by_epoch_needs_epochs(logger):
    model = ToyModel()
    runner = legacy.IterBasedRunner(
        model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        logger=logger, max_iters=3)
    runner.register_lr_hook(legacy.FixedLrUpdaterHook(
        by_epoch=False, warmup='linear', warmup_iters=1,
        warmup_by_epoch=True))
    loader = DataLoader(TensorDataset(torch.randn(3, 2)), batch_size=1)
    with pytest.raises(RuntimeError, match='warmup_iters in iterations'):
        runner.run([loader], [('train', 1)])


def test_format_param_helper():
    optimizer = torch.optim.SGD(
        [{'params': [nn.Parameter(torch.ones(1))]},
         {'params': [nn.Parameter(torch.ones(1))]}], lr=0.1)
    from legacy.hooks.lr_updater import format_param
    assert format_param('SGD', optimizer, 0.5) == [0.5, 0.5]
    assert format_param('SGD', optimizer, dict(SGD=[1, 2])) == [1, 2]
    with pytest.raises(ValueError, match='expected 2 values'):
        format_param('SGD', optimizer, [1])

