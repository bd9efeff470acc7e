"""Checkpoints in mmcv's layout, written atomically and read safely; resume
equal to an uninterrupted run, for both runners."""
import os

import numpy as np
import pytest
import torch

import legacy
from legacy_scenarios import RegressionModel, regression_loader


class Stop(Exception):
    pass


class StopAfterEpoch(legacy.Hook):

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise Stop


class StopAfterIter(legacy.Hook):

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner):
        if runner.iter + 1 == self.iteration:
            raise Stop


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _epoch_run(logger, work_dir, stop=None, resume_from=None):
    torch.manual_seed(0)
    model = RegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = legacy.EpochBasedRunner(
        model, optimizer=optimizer, work_dir=str(work_dir), logger=logger,
        max_epochs=4, meta=dict(note='x'))
    runner.register_training_hooks(
        lr_config=dict(policy='step', step=[2]),
        optimizer_config=dict(grad_clip=dict(max_norm=1.)),
        checkpoint_config=dict(interval=1, max_keep_ckpts=2))
    if stop:
        runner.register_hook(StopAfterEpoch(stop))
    if resume_from:
        runner.resume(resume_from)
    try:
        runner.run([regression_loader()], [('train', 1)])
    except Stop:
        pass
    return runner, model


def test_epoch_resume_equals_uninterrupted_run(logger, tmp_path):
    _, full = _epoch_run(logger, tmp_path / 'full')
    _epoch_run(logger, tmp_path / 'part', stop=2)
    assert sorted(os.listdir(tmp_path / 'part')) == [
        'epoch_1.pth', 'epoch_2.pth', 'latest.pth'
    ]
    runner, resumed = _epoch_run(
        logger, tmp_path / 'part', resume_from=str(tmp_path / 'part' /
                                                   'latest.pth'))
    assert runner.epoch == 4 and runner.iter == 24
    for key, value in _state(full).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    # max_keep_ckpts=2 removed the older files once the new ones existed
    assert sorted(os.listdir(tmp_path / 'part')) == [
        'epoch_3.pth', 'epoch_4.pth', 'latest.pth'
    ]
    assert os.readlink(tmp_path / 'part' / 'latest.pth') == 'epoch_4.pth'


def test_checkpoint_layout_loads_safely(logger, tmp_path):
    runner, model = _epoch_run(logger, tmp_path, stop=1)
    ckpt = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert sorted(ckpt) == ['meta', 'optimizer', 'state_dict']
    meta = ckpt['meta']
    assert meta['epoch'] == 1 and meta['iter'] == 6
    assert meta['note'] == 'x' and meta['mmcv_version'] == '1.7.2'
    assert isinstance(meta['time'], str)
    assert sorted(ckpt['state_dict']) == ['linear.bias', 'linear.weight']
    assert runner.meta['hook_msgs']['last_ckpt'] == str(tmp_path /
                                                        'epoch_1.pth')


def test_save_checkpoint_converts_numpy_meta_and_saves_optimizer_dicts(
        tmp_path):
    model = RegressionModel()
    model.CLASSES = ('a', 'b')
    optimizers = dict(a=torch.optim.SGD(model.parameters(), lr=0.1),
                      b=torch.optim.Adam(model.parameters()))
    meta = dict(best=np.float64(0.5), counts=np.array([1, 2]),
                nested=dict(x=np.int64(3)))
    path = tmp_path / 'sub' / 'ckpt.pth'
    legacy.save_checkpoint(model, str(path), optimizer=optimizers, meta=meta)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['best'] == 0.5 and type(ckpt['meta']['best']) is float
    assert ckpt['meta']['counts'] == [1, 2]
    assert ckpt['meta']['nested'] == dict(x=3)
    assert ckpt['meta']['CLASSES'] == ('a', 'b')
    assert sorted(ckpt['optimizer']) == ['a', 'b']

    other = RegressionModel()
    loaded = legacy.load_checkpoint(other, str(path))
    assert torch.equal(other.linear.weight, model.linear.weight)
    assert loaded['meta']['mmcv_version'] == '1.7.2'


def test_load_checkpoint_strips_module_prefix_and_reports_mismatch(
        tmp_path, caplog):
    model = RegressionModel()
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state), tmp_path / 'ddp.pth')
    other = RegressionModel()
    legacy.load_checkpoint(other, str(tmp_path / 'ddp.pth'))
    assert torch.equal(other.linear.bias, model.linear.bias)
    torch.save(dict(state_dict={'extra': torch.ones(1)}), tmp_path / 'x.pth')
    with pytest.raises(RuntimeError, match='unexpected key'):
        legacy.load_checkpoint(other, str(tmp_path / 'x.pth'), strict=True)


def test_missing_checkpoint_is_a_clear_error(logger, tmp_path):
    runner, _ = _epoch_run(logger, tmp_path, stop=1)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        runner.resume(str(tmp_path / 'nope.pth'))


def _iter_run(logger, work_dir, stop=None, resume_from=None):
    torch.manual_seed(0)
    model = RegressionModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = legacy.IterBasedRunner(
        model, optimizer=optimizer, work_dir=str(work_dir), logger=logger,
        max_iters=14)
    runner.register_training_hooks(
        lr_config=dict(policy='poly', power=2.),
        optimizer_config=dict(),
        checkpoint_config=dict(interval=5))
    if stop:
        runner.register_hook(StopAfterIter(stop))
    if resume_from:
        runner.resume(resume_from)
    try:
        runner.run([regression_loader()], [('train', 1)])
    except Stop:
        pass
    return runner, model


def test_iter_runner_checkpoints_and_resume(logger, tmp_path):
    _, full = _iter_run(logger, tmp_path / 'full')
    assert sorted(os.listdir(tmp_path / 'full')) == [
        'iter_10.pth', 'iter_14.pth', 'iter_5.pth', 'latest.pth'
    ]
    meta = torch.load(tmp_path / 'full' / 'iter_5.pth',
                      weights_only=True)['meta']
    # mmcv stores the iteration before incrementing it
    assert meta['iter'] == 4 and meta['epoch'] == 1
    _iter_run(logger, tmp_path / 'part', stop=5)
    runner, resumed = _iter_run(
        logger, tmp_path / 'part',
        resume_from=str(tmp_path / 'part' / 'iter_5.pth'))
    # continued at iteration 5 with the 6th batch (mmcv would repeat
    # iteration 4 on the first batch): the same weights as without the stop
    assert runner.iter == 14
    for key, value in _state(full).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert sorted(os.listdir(tmp_path / 'part')) == [
        'iter_10.pth', 'iter_14.pth', 'iter_5.pth', 'latest.pth'
    ]


def test_iter_checkpoint_saved_after_the_run_counts_iterations_done(
        logger, tmp_path):
    runner, _ = _iter_run(logger, tmp_path)
    runner.save_checkpoint(str(tmp_path), filename_tmpl='final_{}.pth')
    meta = torch.load(tmp_path / 'final_14.pth', weights_only=True)['meta']
    assert meta['iter'] == 13
    assert os.readlink(tmp_path / 'latest.pth') == 'final_14.pth'


@pytest.mark.parametrize('runner_kind', ['epoch', 'iter'])
def test_engine_layout_checkpoint_resumes(logger, tmp_path, runner_kind):
    from compat.checkpoints import legacy_to_engine
    run = _epoch_run if runner_kind == 'epoch' else _iter_run
    name = 'epoch_2.pth' if runner_kind == 'epoch' else 'iter_5.pth'
    _, full = run(logger, tmp_path / 'full')
    run(logger, tmp_path / 'part', stop=2 if runner_kind == 'epoch' else 5)
    legacy_ckpt = torch.load(tmp_path / 'part' / name, weights_only=True)
    engine_ckpt = legacy_to_engine(legacy_ckpt,
                                   by_epoch=runner_kind == 'epoch')
    assert 'message_hub' in engine_ckpt
    torch.save(engine_ckpt, tmp_path / 'engine.pth')
    _, resumed = run(logger, tmp_path / 'resumed',
                     resume_from=str(tmp_path / 'engine.pth'))
    for key, value in _state(full).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
