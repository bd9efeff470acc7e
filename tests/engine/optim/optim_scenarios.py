"""Scenarios shared by the fixture recorder (run with mmengine/mmcv) and the
tests (run with engine): the same code drives both libraries, passed in as an
``api`` namespace, so a difference in the numbers can only come from the
library. Imports neither library itself.

Floats are stored as ``float.hex`` strings: equality of those strings is
bitwise equality.
"""
import copy
from typing import Dict, List

import torch
import torch.nn as nn

EPOCHS = 10
EPOCH_LENGTH = 20


def hexify(values) -> list:
    return [float(v).hex() for v in values]


# --------------------------------------------------------------------------
# mmengine parameter schedulers, driven the way Runner + ParamSchedulerHook
# drive them: iteration-based ones after every iteration, epoch-based ones
# after every epoch, ReduceOnPlateau with the epoch's metrics.
# --------------------------------------------------------------------------


def _sched(name, schedulers, optimizer=None, lr_mults=(1.0, ), param='lr',
           metrics=None, epochs=EPOCHS, epoch_length=EPOCH_LENGTH):
    return dict(name=name,
                schedulers=schedulers,
                optimizer=optimizer
                or dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
                lr_mults=list(lr_mults),
                param=param,
                metrics=metrics,
                epochs=epochs,
                epoch_length=epoch_length)


_ADAM = dict(type='Adam', lr=0.01, betas=(0.9, 0.999))
_PLATEAU_LOSS = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.86, 0.9, 0.7]
_PLATEAU_ACC = [0.1, 0.3, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6]

SCHEDULER_SCENARIOS: List[dict] = [
    _sched('step_epoch', [dict(type='StepLR', step_size=3, gamma=0.5)]),
    _sched('step_iter',
           [dict(type='StepLR', step_size=40, gamma=0.7, by_epoch=False)]),
    _sched('step_converted', [
        dict(type='StepLR', step_size=3, gamma=0.5,
             convert_to_iter_based=True)
    ]),
    _sched('multistep_epoch_repeated',
           [dict(type='MultiStepLR', milestones=[2, 5, 5, 8], gamma=0.3)]),
    _sched('multistep_converted', [
        dict(type='MultiStepLR', milestones=[3, 7], convert_to_iter_based=True)
    ]),
    _sched('constant_iter', [
        dict(type='ConstantLR', factor=0.5, begin=0, end=50, by_epoch=False)
    ]),
    _sched('constant_epoch', [dict(type='ConstantLR', factor=0.25, end=4)]),
    _sched('linear_warmup_iter_multistep_epoch', [
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
             end=50),
        dict(type='MultiStepLR', milestones=[4, 8], gamma=0.1)
    ]),
    _sched('linear_epoch_begin_end', [
        dict(type='LinearLR', start_factor=0.2, end_factor=0.9, begin=2,
             end=7)
    ]),
    _sched('exponential_epoch', [dict(type='ExponentialLR', gamma=0.8)]),
    _sched('exponential_iter_range', [
        dict(type='ExponentialLR', gamma=0.99, by_epoch=False, begin=10,
             end=200)
    ]),
    _sched('cosine_epoch', [dict(type='CosineAnnealingLR', eta_min=1e-4)]),
    _sched('cosine_converted_ratio', [
        dict(type='CosineAnnealingLR', eta_min_ratio=0.01,
             convert_to_iter_based=True)
    ]),
    _sched('cosine_iter_cycles', [
        dict(type='CosineAnnealingLR', T_max=50, eta_min=1e-3, by_epoch=False)
    ]),
    _sched('warmup_then_cosine_converted', [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, end=40),
        dict(type='CosineAnnealingLR', T_max=9, begin=1, end=10,
             convert_to_iter_based=True)
    ], lr_mults=(1.0, 0.5)),
    _sched('poly_iter',
           [dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False)]),
    _sched('poly_epoch_begin', [dict(type='PolyLR', power=2.0, begin=2)]),
    _sched('onecycle_iter', [
        dict(type='OneCycleLR', eta_max=0.5, total_steps=300, by_epoch=False)
    ]),
    _sched('onecycle_three_phase_linear', [
        # two real groups plus the wrapper's base-settings group
        dict(type='OneCycleLR', eta_max=[0.4, 0.2, 0.4], by_epoch=False,
             three_phase=True, anneal_strategy='linear', pct_start=0.25)
    ], lr_mults=(1.0, 0.5)),
    _sched('onecycle_converted', [
        dict(type='OneCycleLR', eta_max=0.3, convert_to_iter_based=True)
    ]),
    _sched('cosine_restart_iter', [
        dict(type='CosineRestartLR', periods=[100, 200],
             restart_weights=[1, 0.5], eta_min=1e-5, by_epoch=False)
    ]),
    _sched('cosine_restart_converted', [
        dict(type='CosineRestartLR', periods=[4, 6],
             restart_weights=[1, 0.8], eta_min_ratio=0.1,
             convert_to_iter_based=True)
    ]),
    _sched('plateau_less', [
        dict(type='ReduceOnPlateauLR', monitor='loss', patience=1,
             cooldown=1, factor=0.5, min_value=0.02)
    ], metrics=[dict(loss=v) for v in _PLATEAU_LOSS]),
    _sched('plateau_greater_abs_groups', [
        dict(type='ReduceOnPlateauLR', monitor='acc', rule='greater',
             threshold_rule='abs', threshold=0.05, patience=0,
             factor=0.5, min_value=[0.03, 0.001])
    ], metrics=[dict(acc=v) for v in _PLATEAU_ACC], lr_mults=(1.0, 0.1)),
    _sched('momentum_step_sgd', [dict(type='StepMomentum', step_size=2)],
           param='momentum'),
    _sched('momentum_multistep_adam',
           [dict(type='MultiStepMomentum', milestones=[3, 6], gamma=0.9)],
           optimizer=_ADAM, param='momentum'),
    _sched('momentum_cosine_adam_iter', [
        dict(type='CosineAnnealingMomentum', T_max=100, eta_min=0.8,
             by_epoch=False)
    ], optimizer=_ADAM, param='momentum'),
    _sched('momentum_linear_constant', [
        dict(type='LinearMomentum', start_factor=0.5, by_epoch=False, end=60),
        dict(type='ConstantMomentum', factor=0.9, begin=5, end=8)
    ], param='momentum'),
    _sched('momentum_exp_poly', [
        dict(type='ExponentialMomentum', gamma=0.99, by_epoch=False, end=100),
        dict(type='PolyMomentum', eta_min=0.5, begin=4)
    ], param='momentum'),
    _sched('momentum_cosine_restart', [
        dict(type='CosineRestartMomentum', periods=[3, 7],
             restart_weights=[1, 0.9], eta_min=0.5)
    ], param='momentum'),
    _sched('momentum_plateau', [
        dict(type='ReduceOnPlateauMomentum', monitor='loss', patience=0,
             factor=0.9)
    ], metrics=[dict(loss=v) for v in _PLATEAU_LOSS], param='momentum',
           optimizer=_ADAM),
    _sched('generic_weight_decay', [
        dict(type='StepParamScheduler', param_name='weight_decay',
             step_size=2, gamma=0.5)
    ], param='weight_decay'),
    _sched('generic_linear_cosine_lr', [
        dict(type='LinearParamScheduler', param_name='lr', start_factor=0.1,
             by_epoch=False, end=30),
        dict(type='CosineAnnealingParamScheduler', param_name='lr', begin=1,
             eta_min=0.0)
    ], lr_mults=(1.0, 2.0)),
]


def make_optimizer(scenario: dict, api) -> object:
    """An optimizer wrapper over a tiny model, one group per lr multiplier
    (several groups give the wrapper its base-settings group)."""
    cfg = dict(scenario['optimizer'])
    opt_cls = getattr(torch.optim, cfg.pop('type'))
    model = nn.Linear(2, len(scenario['lr_mults']))
    params = list(model.parameters())
    lr = cfg['lr']
    if len(scenario['lr_mults']) == 1:
        groups = [{'params': params}]
    else:
        groups = [{'params': [p], 'lr': lr * m}
                  for p, m in zip(params, scenario['lr_mults'])]
    return api.OptimWrapper(opt_cls(groups, **cfg))


def build_schedulers(scenario: dict, wrapper, api) -> list:
    """Build like mmengine's Runner: default ``end`` from the train loop."""
    schedulers = []
    for cfg in copy.deepcopy(scenario['schedulers']):
        default_end = (scenario['epochs'] if cfg.get('by_epoch', True) else
                       scenario['epochs'] * scenario['epoch_length'])
        cfg.setdefault('end', default_end)
        schedulers.append(
            api.PARAM_SCHEDULERS.build(
                cfg,
                default_args=dict(optimizer=wrapper,
                                  epoch_length=scenario['epoch_length'])))
    return schedulers


def _snapshot(wrapper, param: str) -> dict:
    groups = wrapper.param_groups
    snap = {'values': hexify(g[param] for g in groups)}
    if 'betas' in groups[0]:
        snap['betas0'] = hexify(g['betas'][0] for g in groups)
    return snap


def drive_schedulers(scenario: dict, wrapper, schedulers: list,
                     start_iter: int = 0, stop_iter=None) -> List[dict]:
    """Run the scenario's iterations ``[start_iter, stop_iter)``, recording
    the values in force at each iteration; epoch-end steps happen after the
    last iteration of each epoch."""
    length = scenario['epoch_length']
    total = scenario['epochs'] * length
    stop_iter = total if stop_iter is None else stop_iter
    records = []
    for it in range(start_iter, stop_iter):
        records.append(_snapshot(wrapper, scenario['param']))
        for s in schedulers:
            if not s.by_epoch:
                s.step()
        if (it + 1) % length == 0:
            epoch = it // length
            for s in schedulers:
                if s.by_epoch:
                    s.step()
            if scenario['metrics'] is not None:
                for s in schedulers:
                    if getattr(s, 'need_val_args', False):
                        s.step(scenario['metrics'][epoch])
    return records


def run_scheduler_scenario(scenario: dict, api) -> List[dict]:
    torch.manual_seed(0)
    wrapper = make_optimizer(scenario, api)
    return drive_schedulers(scenario, wrapper,
                            build_schedulers(scenario, wrapper, api))


# --------------------------------------------------------------------------
# mmcv LrUpdaterHook / MomentumUpdaterHook policies. The recorder drives a
# real mmcv runner; the tests replay the same configs with ClosedFormLR /
# ClosedFormMomentum.
# --------------------------------------------------------------------------

MMCV_EPOCHS = 6
MMCV_EPOCH_LENGTH = 7
MMCV_MAX_ITERS = 45


def _mmcv(name, lr_config, momentum_config=None, runner='epoch',
          optimizer=None):
    return dict(name=name,
                runner=runner,
                lr_config=lr_config,
                momentum_config=momentum_config,
                optimizer=optimizer
                or dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
                group_lr_mults=[1.0, 0.3],
                epochs=MMCV_EPOCHS,
                max_iters=MMCV_MAX_ITERS,
                epoch_length=MMCV_EPOCH_LENGTH)


def _mmcv_lr_configs() -> Dict[str, dict]:
    base = {
        'fixed': dict(policy='fixed'),
        'step_int': dict(policy='step', step=2, gamma=0.5),
        'step_list_min': dict(policy='step', step=[2, 4], gamma=0.1,
                              min_lr=0.002),
        'step_iter': dict(policy='step', step=[10, 25], by_epoch=False),
        'exp_epoch': dict(policy='exp', gamma=0.9),
        'exp_iter': dict(policy='exp', gamma=0.97, by_epoch=False),
        'poly_epoch': dict(policy='poly', power=0.9, min_lr=1e-4),
        'poly_iter': dict(policy='poly', power=2.0, by_epoch=False),
        'inv_iter': dict(policy='inv', gamma=0.1, power=0.5,
                         by_epoch=False),
        'cosine_epoch_min_lr': dict(policy='CosineAnnealing', min_lr=1e-4),
        'cosine_iter_ratio': dict(policy='CosineAnnealing',
                                  min_lr_ratio=0.01, by_epoch=False),
        'flat_cosine_epoch': dict(policy='FlatCosineAnnealing',
                                  start_percent=0.5, min_lr=0.0),
        'flat_cosine_iter': dict(policy='FlatCosineAnnealing',
                                 start_percent=0.3, min_lr_ratio=0.1,
                                 by_epoch=False),
        'cosine_restart_epoch': dict(policy='CosineRestart', periods=[2, 4],
                                     restart_weights=[1, 0.5], min_lr=1e-5),
        'cosine_restart_iter': dict(policy='CosineRestart',
                                    periods=[20, 22],
                                    restart_weights=[1, 0.7],
                                    min_lr_ratio=0.05, by_epoch=False),
        'cyclic_cos': dict(policy='cyclic', target_ratio=(10, 1e-4),
                           cyclic_times=2, step_ratio_up=0.4, gamma=0.9),
        'cyclic_linear_float': dict(policy='cyclic', target_ratio=5.0,
                                    anneal_strategy='linear'),
        'onecycle': dict(policy='OneCycle', max_lr=0.2),
        'onecycle_three_phase_linear': dict(policy='OneCycle',
                                            max_lr=[0.3, 0.1],
                                            three_phase=True,
                                            anneal_strategy='linear',
                                            total_steps=50, pct_start=0.2,
                                            div_factor=10),
        'linear_annealing_epoch': dict(policy='LinearAnnealing',
                                       min_lr_ratio=0.1),
        'linear_annealing_iter': dict(policy='LinearAnnealing', min_lr=1e-3,
                                      by_epoch=False),
    }
    configs = dict(base)
    warm = dict(warmup_iters=10, warmup_ratio=0.1)
    for kind in ('constant', 'linear', 'exp'):
        configs[f'step_int_warmup_{kind}'] = dict(base['step_int'],
                                                  warmup=kind, **warm)
        configs[f'poly_iter_warmup_{kind}'] = dict(base['poly_iter'],
                                                   warmup=kind, **warm)
        configs[f'cosine_epoch_warmup_{kind}'] = dict(
            base['cosine_epoch_min_lr'], warmup=kind, warmup_iters=12,
            warmup_ratio=0.001)
    configs['cosine_iter_warmup_by_epoch'] = dict(
        base['cosine_iter_ratio'], warmup='linear', warmup_iters=2,
        warmup_ratio=0.01, warmup_by_epoch=True)
    configs['step_epoch_warmup_by_epoch_exp'] = dict(
        base['step_list_min'], warmup='exp', warmup_iters=1,
        warmup_ratio=0.2, warmup_by_epoch=True)
    configs['cyclic_warmup_linear'] = dict(base['cyclic_cos'],
                                           warmup='linear', warmup_iters=5)
    return configs


_MMCV_ADAM = dict(type='Adam', lr=0.01, betas=(0.9, 0.999))

MMCV_SCENARIOS: List[dict] = [
    _mmcv(f'lr_{name}', cfg) for name, cfg in _mmcv_lr_configs().items()
] + [
    _mmcv('iter_runner_poly_warmup',
          dict(policy='poly', power=1.0, min_lr=1e-4, by_epoch=False,
               warmup='linear', warmup_iters=8, warmup_ratio=0.1),
          runner='iter'),
    _mmcv('iter_runner_step', dict(policy='step', step=[15, 30],
                                   by_epoch=False), runner='iter'),
    _mmcv('iter_runner_cosine_exp_warmup',
          dict(policy='CosineAnnealing', min_lr=0.0, by_epoch=False,
               warmup='exp', warmup_iters=6, warmup_ratio=0.01),
          runner='iter'),
    _mmcv('iter_runner_onecycle', dict(policy='OneCycle', max_lr=0.5),
          runner='iter'),
    _mmcv('iter_runner_cyclic', dict(policy='cyclic', cyclic_times=3),
          runner='iter'),
    _mmcv('momentum_step_epoch', dict(policy='fixed'),
          dict(policy='step', step=[2, 4], gamma=0.8, min_momentum=0.5)),
    _mmcv('momentum_cosine_iter_warmup', dict(policy='fixed'),
          dict(policy='CosineAnnealing', min_momentum_ratio=0.5,
               by_epoch=False, warmup='linear', warmup_iters=10,
               warmup_ratio=0.9)),
    _mmcv('momentum_cosine_epoch_warmup_exp', dict(policy='fixed'),
          dict(policy='CosineAnnealing', min_momentum=0.6, warmup='exp',
               warmup_iters=9, warmup_ratio=0.8)),
    _mmcv('momentum_linear_annealing_constant_warmup', dict(policy='fixed'),
          dict(policy='LinearAnnealing', min_momentum=0.5, by_epoch=False,
               warmup='constant', warmup_iters=4, warmup_ratio=0.95)),
    _mmcv('momentum_cyclic', dict(policy='cyclic', target_ratio=(10, 1e-4)),
          dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1),
               cyclic_times=1, step_ratio_up=0.4)),
    _mmcv('momentum_onecycle_sgd', dict(policy='OneCycle', max_lr=0.2),
          dict(policy='OneCycle')),
    _mmcv('momentum_onecycle_adam_three_phase',
          dict(policy='OneCycle', max_lr=0.02, three_phase=True),
          dict(policy='OneCycle', base_momentum=0.8, max_momentum=[0.95,
                                                                   0.9],
               three_phase=True, anneal_strategy='linear'),
          optimizer=_MMCV_ADAM),
    _mmcv('momentum_cosine_adam', dict(policy='fixed'),
          dict(policy='CosineAnnealing', min_momentum=0.7),
          optimizer=_MMCV_ADAM),
    _mmcv('iter_runner_momentum_cyclic', dict(policy='cyclic'),
          dict(policy='cyclic', cyclic_times=2), runner='iter'),
]


def mmcv_param_groups(scenario: dict, model: nn.Module) -> list:
    lr = scenario['optimizer']['lr']
    params = list(model.parameters())
    return [{'params': [p], 'lr': lr * m}
            for p, m in zip(params, scenario['group_lr_mults'])]


def momentum_of(group: dict) -> float:
    return group['momentum'] if 'momentum' in group else group['betas'][0]


# --------------------------------------------------------------------------
# DefaultOptimWrapperConstructor param groups
# --------------------------------------------------------------------------


class ParamwiseNet(nn.Module):
    """Every kind of layer the paramwise rules distinguish."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.dwconv = nn.Conv2d(4, 4, 3, groups=4)
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm(4)
        self.sub = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(4, 2, 1))
        self.head = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(torch.ones(4))
        self.frozen = nn.Linear(2, 2)
        self.frozen.weight.requires_grad_(False)
        # a parameter shared by two modules (bypass_duplicate)
        self.tied = nn.Linear(4, 2, bias=False)
        self.tied.weight = self.head.weight


PARAMWISE_SCENARIOS: Dict[str, dict] = {
    'none': dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                weight_decay=1e-4)),
    'all_mults_sgd': dict(
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
        paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.5,
                           norm_decay_mult=0.0, dwconv_decay_mult=0.1,
                           flat_decay_mult=0.3, bypass_duplicate=True)),
    'custom_keys_adamw': dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        paramwise_cfg=dict(
            norm_decay_mult=0.0,
            bias_decay_mult=0.0,
            custom_keys={
                'sub': dict(lr_mult=0.1, decay_mult=0.5),
                'sub.1': dict(lr_mult=0.2),
                'head': dict(lr_mult=10.0, betas=(0.8, 0.99)),
                '.scale': dict(decay_mult=0.0),
            },
            bypass_duplicate=True)),
    'custom_keys_no_wd': dict(
        optimizer=dict(type='SGD', lr=0.05),
        paramwise_cfg=dict(bias_lr_mult=0.5, bypass_duplicate=True,
                           custom_keys={
            'conv': dict(lr_mult=0.3, momentum=0.5)
        })),
}


def describe_param_groups(model: nn.Module, optimizer) -> list:
    """Groups as (parameter names, options) with floats in hex."""
    names = {id(p): n for n, p in model.named_parameters()}
    described = []
    for group in optimizer.param_groups:
        entry = {'params': [names[id(p)] for p in group['params']]}
        for key, value in sorted(group.items()):
            if key == 'params':
                continue
            if isinstance(value, float):
                value = value.hex()
            elif isinstance(value, tuple):
                value = [v.hex() if isinstance(v, float) else v for v in value]
            entry[key] = value
        described.append(entry)
    return described


def run_paramwise(name: str, api) -> list:
    torch.manual_seed(0)
    model = ParamwiseNet()
    wrapper = api.build_optim_wrapper(model,
                                      copy.deepcopy(PARAMWISE_SCENARIOS[name]))
    return describe_param_groups(model, wrapper.optimizer)


# --------------------------------------------------------------------------
# OptimWrapper training: accumulation with a remainder, clipping
# --------------------------------------------------------------------------

TRAIN_SCENARIOS: Dict[str, dict] = {
    'accumulate3_clip_norm': dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
                           accumulative_counts=3,
                           clip_grad=dict(max_norm=0.5, norm_type=2)),
        iters=10),
    'accumulate4_adamw_clip_value': dict(
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01,
                                          weight_decay=0.01),
                           accumulative_counts=4,
                           clip_grad=dict(type='value', clip_value=0.05)),
        iters=11),
    'plain_clip_inf_norm': dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                           clip_grad=dict(max_norm=0.2, norm_type='inf')),
        iters=5),
    'accumulate2_no_count_status': dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                           accumulative_counts=2),
        iters=7, init_count_status=False),
}


def run_training(name: str, api) -> dict:
    """Train a tiny MLP with ``update_params`` inside ``optim_context``;
    return the final parameters, the logged gradient norms and the count."""
    scenario = TRAIN_SCENARIOS[name]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    data = torch.randn(scenario['iters'], 5, 4)
    target = torch.randn(scenario['iters'], 5, 1)
    wrapper = api.build_optim_wrapper(
        model, copy.deepcopy(scenario['optim_wrapper']))
    if scenario.get('init_count_status', True):
        wrapper.initialize_count_status(model, 0, scenario['iters'])
    for x, y in zip(data, target):
        with wrapper.optim_context(model):
            loss = ((model(x) - y)**2).mean()
        wrapper.update_params(loss)
    return dict(params={
        n: hexify(p.detach().flatten().tolist())
        for n, p in model.named_parameters()
    }, grad_norms=hexify(api.grad_norms()), inner_count=wrapper.inner_count)
