"""Scenarios run both against mmengine 0.10.7 (by ``fixtures/record.py``,
with the reference virtual environment) and against ``engine.model`` (by the
tests): each function takes the library's model namespace (``mmengine.model``
or ``engine.model``) and returns plain tensors/lists/strings to compare."""
import torch
import torch.nn as nn
import torch.nn.functional as F


# --- parse_losses ----------------------------------------------------------
def _loss_cases(out, target):
    diff = out - target
    return {
        'toy': lambda: dict(loss1=diff.pow(2), loss2=diff.abs()),
        'scalars_lists_and_metrics': lambda: dict(
            loss_cls=F.mse_loss(out, target),
            loss_bbox=[diff.abs().sum(1), diff.pow(2)[:, :1], diff.mean()],
            acc=(diff.abs() < 0.5).float().mean() * 100),
        'own_loss_key': lambda: dict(
            loss=diff.pow(2).sum(), loss_aux=diff.abs(), top1=diff.max()),
        'single_scalar': lambda: dict(loss=F.l1_loss(out, target)),
        'negative_and_large': lambda: dict(
            loss_a=-diff.pow(2) * 1e6, loss_b=diff * 3.3, loss_c=[diff]),
    }


def parse_losses(lib):
    class Model(lib.BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return self.linear(inputs)

    results = {}
    torch.manual_seed(0)
    model = Model()
    inputs = torch.randn(5, 3)
    target = torch.randn(5, 2)
    names = ['toy', 'scalars_lists_and_metrics', 'own_loss_key',
             'single_scalar', 'negative_and_large']
    for name in names:
        model.zero_grad()
        out = model(inputs)
        losses = _loss_cases(out, target)[name]()
        total, log_vars = model.parse_losses(losses)
        total.backward()
        results[name] = dict(
            total=total.detach().clone(),
            keys=list(log_vars.keys()),
            values=[v.detach().clone() for v in log_vars.values()],
            grads=[p.grad.clone() for p in model.parameters()])
    return results


# --- ImgDataPreprocessor ---------------------------------------------------
def img_preprocessor(lib):
    gen = torch.Generator().manual_seed(0)

    def image(*shape):
        return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)

    bgr = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
    cases = {
        'list_bgr_pad32': (dict(bgr, bgr_to_rgb=True, pad_size_divisor=32),
                           [image(3, 20, 30), image(3, 25, 17)]),
        'nchw_bgr_pad8': (dict(bgr, bgr_to_rgb=True, pad_size_divisor=8),
                          image(2, 3, 20, 30)),
        'list_gray_padvalue': (dict(mean=[127.5], std=[127.5],
                                    pad_size_divisor=4, pad_value=1.5),
                               [image(1, 10, 13), image(1, 9, 9)]),
        'int_mean_rgb2bgr': (dict(mean=[1, 2, 3], std=[2, 2, 2],
                                  rgb_to_bgr=True),
                             [image(3, 6, 6).float(), image(3, 6, 6).float()]),
        'plain_nchw': (dict(), image(2, 3, 5, 7)),
        'plain_list_same_size': (dict(pad_size_divisor=1),
                                 [image(3, 4, 4), image(3, 4, 4)]),
    }
    results = {}
    for name, (cfg, inputs) in cases.items():
        pre = lib.ImgDataPreprocessor(**cfg)
        out = pre(dict(inputs=inputs, data_samples=['a', 'b']), True)
        results[name] = dict(
            inputs=out['inputs'], data_samples=out['data_samples'])
    return results


# --- init_cfg ----------------------------------------------------------------
def init_weights(lib):

    class Block(lib.BaseModule):

        def __init__(self, init_cfg=None):
            super().__init__(init_cfg)
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 2)
            self.head = nn.Linear(2, 2)

    class Parent(lib.BaseModule):

        def __init__(self, init_cfg=None, child_cfg=None):
            super().__init__(init_cfg)
            self.stem = nn.Linear(2, 3)
            self.child = Block(child_cfg)
            self.seq = lib.Sequential(
                nn.Linear(3, 3), nn.Conv2d(2, 2, 1),
                init_cfg=dict(type='Caffe2Xavier', layer=['Linear', 'Conv2d']))
            self.mlist = lib.ModuleList(
                [Block(dict(type='TruncNormal', layer='Linear', std=0.5,
                            a=-0.4, b=0.6, bias=0.25))])
            self.plain = nn.Sequential(
                Block(dict(type='Constant', layer='Linear', val=7.)))

    cases = {
        'layers': lambda: Block([
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', layer='_BatchNorm', val=1, bias=0.5),
            dict(type='Normal', layer='Linear', std=0.01, bias_prob=0.01),
        ]),
        'override': lambda: Block(dict(
            type='Xavier', layer='Conv2d', distribution='uniform', gain=2,
            override=[dict(type='TruncNormal', name='head', std=0.02),
                      dict(name='fc')])),
        'uniform_kaiming_uniform': lambda: Block([
            dict(type='Uniform', layer=['Linear', 'BatchNorm2d'], a=-1, b=2),
            dict(type='Kaiming', layer='Conv2d', mode='fan_in',
                 nonlinearity='leaky_relu', a=0.1, distribution='uniform'),
        ]),
        'nested': lambda: Parent(
            init_cfg=[dict(type='Xavier', layer='Linear'),
                      dict(type='Normal', layer='Conv2d', mean=1, std=3)],
            child_cfg=dict(type='Constant', layer='Linear', val=2, bias=-1)),
    }
    results = {}
    for name, build in cases.items():
        torch.manual_seed(1)
        model = build()
        model.init_weights()
        results[name] = {k: v.clone() for k, v in model.state_dict().items()}
    return results


# --- averaged models --------------------------------------------------------
def averaged_models(lib):
    cases = {
        'ema_interval2': lambda m: lib.ExponentialMovingAverage(
            m, momentum=0.1, interval=2),
        'ema_buffers': lambda m: lib.ExponentialMovingAverage(
            m, momentum=0.3, update_buffers=True),
        'annealing': lambda m: lib.MomentumAnnealingEMA(
            m, momentum=0.01, gamma=3),
        'swa': lambda m: lib.StochasticWeightAverage(m),
    }
    results = {}
    for name, build in cases.items():
        torch.manual_seed(2)
        model = nn.Sequential(
            nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
        averaged = build(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        history = []
        for _ in range(6):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            averaged.update_parameters(model)
            history.append({
                k: v.clone()
                for k, v in averaged.state_dict().items()
            })
        results[name] = history
    return results


ALL = dict(parse_losses=parse_losses, img_preprocessor=img_preprocessor,
           init_weights=init_weights, averaged_models=averaged_models)
