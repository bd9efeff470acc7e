"""compat.migrate_config: every lr policy and warm-up kind equals mmcv's at
every iteration, every optimizer hook maps to its wrapper, every field is
reported, and malformed configs get clear errors."""
import copy
import json
import os

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

import compat
import legacy
from engine.optim import OptimWrapper
from engine.runner import Runner

from compat_toys import unique

MMCV_POLICIES = os.path.join(os.path.dirname(__file__), '..', 'engine',
                             'optim', 'fixtures', 'mmcv_policies.json')
with open(MMCV_POLICIES) as f:
    RECORDED = json.load(f)


class TwoParamModel(nn.Module):
    """The recorder's model: one weight and one bias, one group each."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def train_step(self, data, optimizer=None):
        return dict(loss=self.linear(data[0]).sum(), log_vars={},
                    num_samples=1)


def hexes(values):
    return [float(v).hex() for v in values]


@pytest.mark.parametrize('name', sorted(RECORDED))
def test_lr_and_momentum_equal_mmcv_at_every_iteration(tmp_path, name):
    """The migrated lr_config / momentum_config, run by the engine Runner,
    against the values a real mmcv 1.7.2 runner set before each iteration
    (tests/engine/optim/fixtures/mmcv_policies.json), bitwise."""
    scenario = RECORDED[name]['scenario']
    expected = RECORDED[name]['records']
    runner_cfg = dict(type='EpochBasedRunner', max_epochs=scenario['epochs'])
    if scenario['runner'] == 'iter':
        runner_cfg = dict(type='IterBasedRunner',
                          max_iters=scenario['max_iters'])
    migrated = compat.migrate_config(
        dict(lr_config=scenario['lr_config'],
             momentum_config=scenario['momentum_config'],
             optimizer=scenario['optimizer'], runner=runner_cfg),
        epoch_length=scenario['epoch_length'])
    assert migrated.report.status_of('lr_config') == 'exact'
    for entry in migrated.report.get('lr_config') + migrated.report.get(
            'momentum_config'):
        assert entry.max_lr_diff in (0.0, None)  # None: per-group options
    torch.manual_seed(0)
    model = TwoParamModel()
    opt_cfg = dict(scenario['optimizer'])
    lr = opt_cfg['lr']
    optimizer = getattr(torch.optim, opt_cfg.pop('type'))(
        [dict(params=[p], lr=lr * m) for p, m in zip(
            model.parameters(), scenario['group_lr_mults'])], **opt_cfg)
    migrated['optim_wrapper'] = OptimWrapper(optimizer)
    seen = dict(lr=[], momentum=[])

    class Record(legacy.Hook):
        def before_train_iter(self, runner):
            groups = runner.optimizer.param_groups
            seen['lr'].append(hexes(g['lr'] for g in groups))
            seen['momentum'].append(hexes(
                g['momentum'] if 'momentum' in g else g['betas'][0]
                for g in groups))

    migrated['custom_hooks'].append(Record())
    migrated['default_hooks'] = dict(logger=None, checkpoint=None)
    loader = DataLoader(TensorDataset(torch.randn(scenario['epoch_length'],
                                                  2)), batch_size=1)
    Runner(model=compat.adapt(model), work_dir=str(tmp_path),
           train_dataloader=loader, experiment_name=unique('policy'),
           **migrated).train()
    assert seen == expected


def test_seed_config_translation():
    migrated = compat.migrate_config(dict(
        lr_config=dict(policy='step', step=[2, 3]),
        optimizer=dict(type='SGD', lr=0.01),
        optimizer_config=dict(grad_clip=None),
        log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook')]),
        runner=dict(type='EpochBasedRunner', max_epochs=5)))
    assert migrated['optim_wrapper'] == dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
    # an epoch-based policy without warm-up steps at epoch ends, as mmcv's
    assert migrated['param_scheduler'] == [
        dict(type='ClosedFormLR', by_epoch=True,
             policy_cfg=dict(policy='step', step=[2, 3]))
    ]
    assert migrated['train_cfg'] == dict(by_epoch=True, max_epochs=5)
    assert migrated['default_hooks'] == dict(
        checkpoint=None, logger=dict(type='LoggerHook', interval=10))
    assert migrated['log_processor']['window_size'] == 10
    assert dict(type='LegacyCheckpointHook') in migrated['custom_hooks']


@pytest.mark.parametrize('optimizer_config, fp16, expected', [
    (dict(grad_clip=dict(max_norm=5, norm_type=2)), None,
     dict(type='OptimWrapper', clip_grad=dict(max_norm=5, norm_type=2))),
    (dict(type='Fp16OptimizerHook', loss_scale='dynamic'), None,
     dict(type='AmpOptimWrapper', loss_scale='dynamic')),
    (dict(type='Fp16OptimizerHook'), None,
     dict(type='AmpOptimWrapper', loss_scale=512.)),  # mmcv's default
    (dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4), None,
     dict(type='OptimWrapper', accumulative_counts=4)),
    (dict(type='GradientCumulativeFp16OptimizerHook', cumulative_iters=2,
          loss_scale=dict(init_scale=256.)), None,
     dict(type='AmpOptimWrapper', accumulative_counts=2,
          loss_scale=dict(init_scale=256.))),
    (dict(grad_clip=None), dict(loss_scale=512),
     dict(type='AmpOptimWrapper', loss_scale=512.)),
    (dict(type='GradientCumulativeOptimizerHook', cumulative_iters=3),
     dict(loss_scale='dynamic'),
     dict(type='AmpOptimWrapper', accumulative_counts=3,
          loss_scale='dynamic')),
])
def test_optimizer_hooks_map_to_wrappers(optimizer_config, fp16, expected):
    cfg = dict(optimizer=dict(type='SGD', lr=0.1),
               optimizer_config=optimizer_config)
    if fp16 is not None:
        cfg['fp16'] = fp16
    wrapper = compat.migrate_config(cfg)['optim_wrapper']
    assert wrapper == dict(expected, optimizer=dict(type='SGD', lr=0.1))


def test_custom_optimizer_hook_and_types_are_reported():
    migrated = compat.migrate_config(dict(
        optimizer=dict(type='MyLARS', lr=0.1, constructor='MyConstructor',
                       paramwise_cfg=dict(norm_decay_mult=0.)),
        optimizer_config=dict(type='MyOptimizerHook', grad_clip=dict(
            max_norm=1.), unknown_arg=3)))
    report = migrated.report
    assert report.status_of('optimizer_config') == 'unsupported'
    assert report.status_of('optimizer.type') == 'unsupported'
    assert report.status_of('optimizer.constructor') == 'unsupported'
    assert report.status_of('optimizer.paramwise_cfg') == 'exact'
    assert migrated['optim_wrapper'] == dict(
        type='OptimWrapper', optimizer=dict(type='MyLARS', lr=0.1),
        constructor='MyConstructor', paramwise_cfg=dict(norm_decay_mult=0.),
        clip_grad=dict(max_norm=1.))


def test_iteration_runner_defaults_differ_from_epoch_runner():
    """mmcv's IterBasedRunner defaults lr_config, checkpoint_config and the
    logger hooks to by_epoch=False (momentum_config keeps its own)."""
    migrated = compat.migrate_config(dict(
        runner=dict(type='IterBasedRunner', max_iters=100),
        lr_config=dict(policy='poly', power=0.9),
        momentum_config=dict(policy='CosineAnnealing', min_momentum=0.8),
        checkpoint_config=dict(interval=50),
        log_config=dict(interval=5, hooks=[dict(type='TextLoggerHook')])))
    lr, momentum = migrated['param_scheduler']
    assert lr['by_epoch'] is False and lr['policy_cfg']['by_epoch'] is False
    assert 'by_epoch' not in momentum['policy_cfg']
    assert migrated['train_cfg'] == dict(by_epoch=False, max_iters=100)
    assert migrated['default_hooks']['checkpoint']['by_epoch'] is False
    assert migrated['log_processor']['by_epoch'] is False


def test_workflow_evaluation_and_checkpoint_paths():
    migrated = compat.migrate_config(dict(
        runner=dict(type='EpochBasedRunner', max_epochs=12),
        workflow=[('train', 2), ('val', 1)],
        evaluation=dict(interval=2, save_best='auto', rule='greater'),
        checkpoint_config=dict(interval=1, max_keep_ckpts=3),
        load_from='a.pth', resume_from='b.pth',
        dist_params=dict(backend='gloo'), seed=7, work_dir='w',
        log_level='DEBUG'))
    assert migrated['train_cfg'] == dict(by_epoch=True, max_epochs=12,
                                         val_interval=2)
    assert migrated['val_cfg'] == dict(type='ValLoop')
    assert migrated['val_evaluator'] == dict(type='LegacyLogVarsMetric')
    checkpoint = migrated['default_hooks']['checkpoint']
    assert checkpoint['save_best'] == 'auto' and checkpoint['rule'] == \
        'greater' and checkpoint['max_keep_ckpts'] == 3
    assert migrated['load_from'] == 'b.pth' and migrated['resume'] is True
    assert migrated['env_cfg']['dist_cfg'] == dict(backend='gloo')
    assert migrated['randomness']['seed'] == 7
    assert (migrated['work_dir'], migrated['log_level']) == ('w', 'DEBUG')


def test_every_field_is_reported():
    cfg = dict(
        model=dict(type='Detector'), data=dict(samples_per_gpu=2),
        optimizer=dict(type='SGD', lr=0.02, momentum=0.9),
        optimizer_config=dict(grad_clip=None),
        lr_config=dict(policy='step', warmup='linear', warmup_iters=500,
                       warmup_ratio=0.001, step=[8, 11]),
        runner=dict(type='EpochBasedRunner', max_epochs=12),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=50, hooks=[
            dict(type='TextLoggerHook'), dict(type='TensorboardLoggerHook')]),
        custom_hooks=[dict(type='NumClassCheckHook')],
        dist_params=dict(backend='nccl'), log_level='INFO', load_from=None,
        resume_from=None, workflow=[('train', 1)],
        evaluation=dict(interval=1, metric='bbox'), opencv_num_threads=0,
        mp_start_method='fork', auto_scale_lr=dict(enable=False,
                                                   base_batch_size=16),
        mystery_key=1)
    migrated = compat.migrate_config(cfg)
    reported = {f.split('.')[0].split('[')[0]
                for f in migrated.report.fields()}
    missing = set(cfg) - reported - {'load_from', 'resume_from'}
    assert not missing, f'not reported: {missing}'
    assert migrated.report.status_of('mystery_key') == 'unsupported'
    assert migrated.report.status_of('model') == 'unsupported'
    assert migrated.leftovers['model'] == dict(type='Detector')
    bridged = [h for h in migrated['custom_hooks']
               if isinstance(h, dict) and h['type'] == 'LegacyHookBridge']
    assert [h['hook']['type'] for h in bridged] == [
        'TensorboardLoggerHook', 'NumClassCheckHook']


def test_config_objects_and_files_are_accepted(tmp_path):
    path = tmp_path / 'old.py'
    path.write_text("optimizer = dict(type='SGD', lr=0.1)\n"
                    "runner = dict(type='EpochBasedRunner', max_epochs=2)\n")
    from engine.config import Config
    for source in (str(path), Config.fromfile(str(path))):
        migrated = compat.migrate_config(source)
        assert migrated['train_cfg'] == dict(by_epoch=True, max_epochs=2)


MALFORMED = [
    (dict(runner=dict(type='EpochBasedRunner')), KeyError, 'max_epochs'),
    (dict(runner=dict(max_epochs=2)), KeyError, 'runner'),
    (dict(runner=dict(type='EpochBasedRunner', max_epochs=2, max_iters=3)),
     ValueError, 'only one of'),
    (dict(runner=dict(type='EpochBasedRunner', max_epochs='2')), TypeError,
     'runner.max_epochs'),
    (dict(runner=dict(type='EpochBasedRunner', max_epochs=2),
          total_epochs=3), ValueError, 'total_epochs'),
    (dict(runner='EpochBasedRunner'), TypeError, 'runner'),
    (dict(optimizer=[1]), TypeError, 'optimizer'),
    (dict(optimizer=dict(lr=0.1)), KeyError, 'optimizer'),
    (dict(optimizer_config=dict(grad_clp=None)), TypeError, 'grad_clp'),
    (dict(optimizer_config=dict(grad_clip=dict(norm_type=2))), KeyError,
     'max_norm'),
    (dict(optimizer_config=dict(grad_clip=3)), TypeError, 'grad_clip'),
    (dict(optimizer_config=dict(type='GradientCumulativeOptimizerHook',
                                cumulative_iters=0)), ValueError,
     'cumulative_iters'),
    (dict(optimizer_config=dict(type='Fp16OptimizerHook', loss_scale='x')),
     ValueError, 'loss_scale'),
    (dict(optimizer_config='OptimizerHook'), TypeError, 'optimizer_config'),
    (dict(fp16=dict(loss_scale=512.)), ValueError, 'fp16'),
    (dict(fp16=dict(loss_scal=512.), optimizer_config={}), TypeError,
     'loss_scal'),
    (dict(lr_config=dict(step=[1])), KeyError, 'lr_config'),
    (dict(lr_config=dict(policy='NoSuchPolicy')), ValueError, 'lr_config'),
    (dict(lr_config=dict(policy='step')), (KeyError, TypeError, ValueError),
     'lr_config'),
    (dict(lr_config=dict(policy='step', step=[2], warmup='cubic',
                         warmup_iters=3)), ValueError, 'lr_config'),
    (dict(lr_config='step'), TypeError, 'lr_config'),
    (dict(momentum_config=dict(policy='poly')), ValueError,
     'momentum_config'),
    (dict(workflow=[('train', '1')]), TypeError, 'workflow[0]'),
    (dict(workflow='train'), TypeError, 'workflow'),
    (dict(evaluation=dict(interval=0)), ValueError, 'evaluation.interval'),
    (dict(checkpoint_config=[1]), TypeError, 'checkpoint_config'),
    (dict(log_config=dict(hooks=[])), KeyError, 'log_config'),
    (dict(log_config=dict(interval=1, hooks=[dict(interval=2)])), KeyError,
     'log_config.hooks[0]'),
    (dict(custom_hooks=[dict(priority='LOW')]), KeyError, 'custom_hooks[0]'),
    (dict(custom_hooks=['MyHook']), TypeError, 'custom_hooks[0]'),
    (dict(load_from=3), TypeError, 'load_from'),
    (dict(auto_resume='yes'), TypeError, 'auto_resume'),
    (dict(dist_params='nccl'), TypeError, 'dist_params'),
]


@pytest.mark.parametrize('cfg, error, field', MALFORMED)
def test_malformed_configs_get_errors_naming_the_field(cfg, error, field):
    with pytest.raises(error) as info:
        compat.migrate_config(cfg)
    assert field in str(info.value)


def test_not_a_config():
    with pytest.raises(TypeError, match='migrate_config expects'):
        compat.migrate_config(42)
    with pytest.raises(TypeError, match='epoch_length'):
        compat.migrate_config({}, epoch_length='7')


# Values a config file may hold, nested.
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 30),
                    st.floats(-1, 2, allow_nan=False), st.sampled_from([
                        'step', 'SGD', 'EpochBasedRunner', 'IterBasedRunner',
                        'OptimizerHook', 'Fp16OptimizerHook', 'linear', 'exp',
                        'dynamic', 'train', 'val', 'TextLoggerHook', 'poly',
                        'CosineAnnealing', 'OneCycle', 'cyclic'
                    ]))
_KEYS = st.sampled_from([
    'type', 'policy', 'step', 'gamma', 'lr', 'max_epochs', 'max_iters',
    'grad_clip', 'max_norm', 'cumulative_iters', 'loss_scale', 'interval',
    'hooks', 'warmup', 'warmup_iters', 'warmup_ratio', 'by_epoch', 'min_lr',
    'power', 'max_lr', 'save_best', 'priority', 'momentum'
])
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=8)
_CONFIGS = st.dictionaries(
    st.sampled_from([
        'optimizer', 'optimizer_config', 'lr_config', 'momentum_config',
        'runner', 'total_epochs', 'checkpoint_config', 'log_config',
        'workflow', 'evaluation', 'custom_hooks', 'fp16', 'load_from',
        'resume_from', 'work_dir', 'log_level', 'dist_params', 'seed',
        'unknown_field'
    ]), _VALUES, max_size=6)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cfg=_CONFIGS)
def test_any_config_gets_a_result_or_a_clear_error(cfg):
    """Property: whatever the config holds, migrate_config either returns
    (with every field reported) or raises TypeError/KeyError/ValueError
    whose message names an offending field."""
    try:
        migrated = compat.migrate_config(copy.deepcopy(cfg))
    except (TypeError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        assert isinstance(message, str) and message
        assert any(key in message for key in cfg) or 'loss_scale' in message \
            or 'policy' in message, message
        return
    reported = {f.split('.')[0].split('[')[0]
                for f in migrated.report.fields()}
    silent = {k for k, v in cfg.items() if v is not None} - reported - {
        'load_from', 'resume_from'}
    assert not silent or silent <= {'custom_hooks', 'workflow'}, silent
