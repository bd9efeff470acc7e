"""Legacy (MMCV-style) hooks inside engine.runner.Runner: same stages, same
runner attributes, same helper answers as on legacy.Runner."""
import numpy as np
import pytest
import torch

import compat
import legacy
from compat.hook_bridge import LegacyHookBridge, LegacyRunnerView
from engine.runner import Runner

from compat_toys import (MMCVToyModel, assert_same_params, make_recorder, params,
                   regression_loader, seeded, unique)

CFG = dict(
    optimizer=dict(type='SGD', lr=0.01),
    optimizer_config=dict(grad_clip=None),
    lr_config=dict(policy='step', step=[1, 2]),
    log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))


def run_legacy(tmp_path, runner_cfg, hooks, loader):
    model = seeded(MMCVToyModel)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    kind = legacy.EpochBasedRunner if runner_cfg['type'] == \
        'EpochBasedRunner' else legacy.IterBasedRunner
    length = {k: v for k, v in runner_cfg.items() if k != 'type'}
    runner = kind(model=model, optimizer=optimizer,
                  work_dir=str(tmp_path / 'legacy'),
                  logger=legacy.get_logger(unique('bridge-legacy')),
                  **length)
    runner.register_training_hooks(
        lr_config=dict(CFG['lr_config']),
        optimizer_config=dict(CFG['optimizer_config']),
        log_config=dict(interval=2, hooks=[dict(type='TextLoggerHook')]))
    for hook in hooks:
        runner.register_hook(hook)
    runner.run([loader], [('train', 1)])
    return params(model)


def run_engine(tmp_path, runner_cfg, hooks, loader):
    model = compat.adapt(seeded(MMCVToyModel))
    kwargs = compat.migrate_config(dict(CFG, runner=runner_cfg))
    kwargs['custom_hooks'] = hooks + kwargs['custom_hooks']
    Runner(model=model, work_dir=str(tmp_path / 'engine'),
           train_dataloader=loader, experiment_name=unique('bridge'),
           **kwargs).train()
    return params(model)


@pytest.mark.parametrize('runner_cfg', [
    dict(type='EpochBasedRunner', max_epochs=3),
    dict(type='IterBasedRunner', max_iters=13),
])
def test_user_hook_behaves_the_same_under_both_runners(tmp_path, runner_cfg):
    """The acceptance case: a user's legacy hook reading
    runner.outputs['log_vars'] in after_train_iter and writing a file in
    after_train_epoch (after_epoch on mmcv's IterBasedRunner)."""
    old_file, new_file = tmp_path / 'legacy.jsonl', tmp_path / 'engine.jsonl'
    old = run_legacy(tmp_path, runner_cfg,
                     [make_recorder(legacy.Hook, str(old_file))],
                     regression_loader())
    new = run_engine(tmp_path, runner_cfg,
                     [make_recorder(legacy.Hook, str(new_file))],
                     regression_loader())
    assert_same_params(old, new)
    assert old_file.read_text() == new_file.read_text()
    assert len(old_file.read_text().splitlines()) == (
        3 if runner_cfg['type'] == 'EpochBasedRunner' else 1)


def test_duck_typed_hook_and_config_dict(tmp_path):
    """A plain object with mmcv stage methods, and a legacy hook config
    built from legacy's HOOKS registry, both run."""
    calls = []

    class Plain:
        def before_run(self, runner):
            calls.append(('before_run', runner.mode))

        def after_iter(self, runner):  # mmcv's generic stage
            calls.append(('after_iter', runner.iter))

    @legacy.HOOKS.register_module(name=unique('CountingHook'))
    class CountingHook(legacy.Hook):
        count = 0

        def __init__(self, step=1):
            self.step = step

        def after_train_iter(self, runner):
            CountingHook.count += self.step

    name = [k for k, v in legacy.HOOKS.module_dict.items()
            if v is CountingHook][0]
    run_engine(tmp_path, dict(type='EpochBasedRunner', max_epochs=1),
               [Plain(), dict(type=name, step=2, priority='LOW')],
               regression_loader())
    assert calls[0] == ('before_run', None)
    assert [c[1] for c in calls[1:]] == list(range(6))
    assert CountingHook.count == 12


def test_bridge_defines_only_the_stages_the_hook_uses():
    class OnlyAfterTrainIter(legacy.Hook):
        def after_train_iter(self, runner):
            pass

    bridge = compat.bridge_hook(OnlyAfterTrainIter())
    overridden = [s for s in compat.LegacyHookBridge.stages
                  if getattr(type(bridge), s) is not getattr(
                      compat.LegacyHookBridge, s)]
    assert overridden == ['after_train_iter']
    assert isinstance(bridge, LegacyHookBridge)


def test_log_buffer_view_averages_like_mmcv(tmp_path):
    """runner.log_buffer on the engine: update() weighs by count, average(n)
    is mmcv's LogBuffer.average(n), bitwise."""
    seen = {}

    class Peek(legacy.Hook):
        def after_train_iter(self, runner):
            runner.log_buffer.update({'extra': runner.iter * 0.1 + 0.3},
                                     count=runner.iter + 1)
            if runner.iter == 4:
                runner.log_buffer.average(3)
                seen.update(runner.log_buffer.output)
                seen['history'] = runner.log_buffer.val_history['extra']

    run_engine(tmp_path, dict(type='EpochBasedRunner', max_epochs=1),
               [Peek()], regression_loader())
    reference = legacy.LogBuffer()
    for i in range(5):
        reference.update({'extra': i * 0.1 + 0.3}, count=i + 1)
    reference.average(3)
    assert seen['extra'] == reference.output['extra']
    np.testing.assert_allclose(seen['history'],
                               reference.val_history['extra'])


def test_runner_view_attributes(tmp_path):
    seen = {}

    class Look(legacy.Hook):
        def before_run(self, runner):
            runner.shared_flag = 'set by one legacy hook'

        def after_train_iter(self, runner):
            if runner.iter == 0:
                seen.update(
                    lr=runner.current_lr(), momentum=runner.current_momentum(),
                    optimizer=runner.optimizer, model_name=runner.model_name,
                    work_dir=runner.work_dir, rank=runner.rank,
                    world_size=runner.world_size, mode=runner.mode,
                    max_epochs=runner.max_epochs, loader=runner.data_loader,
                    data_batch=runner.data_batch,
                    hub=runner.message_hub)  # falls through to the engine

    class Other(legacy.Hook):
        def after_run(self, runner):
            seen['flag'] = runner.shared_flag

    run_engine(tmp_path, dict(type='EpochBasedRunner', max_epochs=1),
               [Look(), Other()], regression_loader())
    assert seen['lr'] == [0.01] and seen['momentum'] == [0]
    assert isinstance(seen['optimizer'], torch.optim.SGD)
    assert seen['model_name'] == 'MMCVToyModel'
    assert seen['mode'] == 'train' and seen['max_epochs'] == 1
    assert seen['rank'] == 0 and seen['world_size'] == 1
    assert len(seen['loader']) == 6 and len(seen['data_batch']) == 2
    assert seen['flag'] == 'set by one legacy hook'
    assert isinstance(seen['hub'], __import__('engine.logging').logging.MessageHub)


def test_bad_hooks_get_clear_errors():
    with pytest.raises(TypeError, match='MMCV-style hook'):
        LegacyHookBridge(object())
    with pytest.raises(KeyError, match='not a registered legacy hook'):
        LegacyHookBridge(dict(type='NoSuchLegacyHook'))
    with pytest.raises(TypeError, match='get\\(\\) and build\\(\\)'):
        compat.register_legacy_hook_registry(object())


def test_view_is_shared_per_runner():
    class FakeRunner:
        pass

    runner = FakeRunner()
    assert LegacyRunnerView.of(runner) is LegacyRunnerView.of(runner)
    assert LegacyRunnerView.of(runner) is not LegacyRunnerView.of(FakeRunner())
