"""Record the reference numbers for tests/engine/optim from the real
mmengine 0.10.7 and mmcv 1.7.2.

Run from the repository root with the reference environment::

    /tmp/reference/bin/python tests/engine/optim/record_schedules.py

It writes ``fixtures/*.json`` beside this file. The scenarios themselves are
in ``optim_scenarios.py``, shared with the tests; each fixture also stores
the scenario it was recorded from, so that a test notices a stale fixture.
"""
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from types import SimpleNamespace

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
warnings.filterwarnings('ignore')
# mmcv sleeps 2 s at each epoch start and 1 s after run(); irrelevant here.
time.sleep = lambda *args, **kwargs: None

import optim_scenarios as sc  # noqa: E402


def _json_roundtrip(obj):
    return json.loads(json.dumps(obj))


def _dump(name: str, data: dict) -> None:
    os.makedirs(os.path.join(HERE, 'fixtures'), exist_ok=True)
    path = os.path.join(HERE, 'fixtures', name)
    with open(path, 'w') as f:
        json.dump(data, f, indent=0, sort_keys=True)
        f.write('\n')
    print(f'wrote {path}')


def _mmengine_api():
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS

    def grad_norms():
        hub = MessageHub.get_current_instance()
        if 'train/grad_norm' not in hub.log_scalars:
            return []
        return list(hub.get_scalar('train/grad_norm').data[0])

    return SimpleNamespace(OptimWrapper=OptimWrapper,
                           PARAM_SCHEDULERS=PARAM_SCHEDULERS,
                           build_optim_wrapper=build_optim_wrapper,
                           grad_norms=grad_norms)


def record_mmengine() -> None:
    from mmengine.logging import MessageHub, MMLogger
    MMLogger.get_instance('record', log_level=logging.ERROR)
    api = _mmengine_api()
    _dump('mmengine_schedulers.json', {
        s['name']: dict(scenario=_json_roundtrip(s),
                        records=sc.run_scheduler_scenario(s, api))
        for s in sc.SCHEDULER_SCENARIOS
    })
    _dump('mmengine_paramwise.json', {
        name: dict(scenario=_json_roundtrip(sc.PARAMWISE_SCENARIOS[name]),
                   groups=sc.run_paramwise(name, api))
        for name in sc.PARAMWISE_SCENARIOS
    })
    training = {}
    for name in sc.TRAIN_SCENARIOS:
        MessageHub.get_instance(f'record_{name}')
        training[name] = dict(scenario=_json_roundtrip(
            sc.TRAIN_SCENARIOS[name]),
                              result=sc.run_training(name, api))
    _dump('mmengine_optim_wrapper.json', training)


class _ToyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def train_step(self, data, optimizer=None, **kwargs):
        loss = self.linear(data[0]).sum()
        return dict(loss=loss, log_vars={}, num_samples=1)


def _record_mmcv_scenario(scenario: dict) -> dict:
    import copy

    from mmcv.runner import EpochBasedRunner, Hook, IterBasedRunner
    from mmcv.utils import get_logger

    records = dict(lr=[], momentum=[])

    class Recorder(Hook):

        def before_train_iter(self, runner):
            groups = runner.optimizer.param_groups
            records['lr'].append(sc.hexify(g['lr'] for g in groups))
            records['momentum'].append(
                sc.hexify(sc.momentum_of(g) for g in groups))

    torch.manual_seed(0)
    model = _ToyModel()
    cfg = dict(scenario['optimizer'])
    optimizer = getattr(torch.optim, cfg.pop('type'))(
        sc.mmcv_param_groups(scenario, model), **cfg)
    logger = get_logger('mmcv_record', log_level=logging.ERROR)
    loader = DataLoader(TensorDataset(
        torch.randn(scenario['epoch_length'], 2)),
                        batch_size=1)
    with tempfile.TemporaryDirectory() as work_dir:
        if scenario['runner'] == 'epoch':
            runner = EpochBasedRunner(model, optimizer=optimizer,
                                      work_dir=work_dir, logger=logger,
                                      max_epochs=scenario['epochs'])
        else:
            runner = IterBasedRunner(model, optimizer=optimizer,
                                     work_dir=work_dir, logger=logger,
                                     max_iters=scenario['max_iters'])
        runner.register_training_hooks(
            lr_config=copy.deepcopy(scenario['lr_config']),
            momentum_config=copy.deepcopy(scenario['momentum_config']))
        runner.register_hook(Recorder(), priority='LOWEST')
        runner.run([loader], [('train', 1)])
    return records


def record_mmcv() -> None:
    _dump('mmcv_policies.json', {
        s['name']: dict(scenario=_json_roundtrip(s),
                        records=_record_mmcv_scenario(s))
        for s in sc.MMCV_SCENARIOS
    })


if __name__ == '__main__':
    torch.set_num_threads(1)
    record_mmengine()
    record_mmcv()
