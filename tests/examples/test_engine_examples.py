"""The engine-side seed samples (examples/engine_*.py) run as written.

Each example runs in-process (``runpy``) inside its own temporary directory;
its module globals are then checked for what the sample promises.
"""
import os
import runpy
from pathlib import Path

import torch

EXAMPLES = Path(__file__).resolve().parents[2] / 'examples'


def _run(name: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    return runpy.run_path(str(EXAMPLES / name), run_name='__main__')


def test_toy_model(tmp_path, monkeypatch, capsys):
    result = _run('engine_toy_model.py', tmp_path, monkeypatch)
    runner = result['runner']
    assert (runner.epoch, runner.iter) == (5, 125)
    assert 'trained 125 iterations' in capsys.readouterr().out
    assert sorted(f for f in os.listdir(tmp_path / 'tmp_dir')
                  if f.endswith('.pth')) == [f'epoch_{i}.pth'
                                             for i in range(1, 6)]
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert losses[-1] < losses[0]


def test_gan_drives_two_optimizer_wrappers(tmp_path, monkeypatch):
    result = _run('engine_gan.py', tmp_path, monkeypatch)
    runner, model = result['runner'], result['model']
    assert runner.iter == 40
    assert set(runner.optim_wrapper.keys()) == {'generator', 'discriminator'}
    hub = runner.message_hub
    assert len(hub.get_scalar('train/loss_disc').data[0]) == 40
    assert len(hub.get_scalar('train/loss_gen').data[0]) == 40
    # both sub-networks moved, each by its own optimizer
    for wrapper in runner.optim_wrapper.values():
        assert wrapper.optimizer.state  # Adam state exists after steps
    assert torch.isfinite(next(model.generator.parameters())).all()


def test_custom_train_step_updates_twice_per_batch(tmp_path, monkeypatch):
    result = _run('engine_custom_train_step.py', tmp_path, monkeypatch)
    assert result['runner'].iter == 12
    assert result['model'].updates == 24


def test_predict_mode_feeds_the_evaluator(tmp_path, monkeypatch):
    result = _run('engine_predict_evaluator.py', tmp_path, monkeypatch)
    assert result['metrics'] == result['by_hand']
    assert set(result['metrics']) == {'toy/abs_error'}
