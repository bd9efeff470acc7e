"""``python -m compat ...`` end to end, as a user runs it."""
import os
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, 'tests', 'parity', 'fixtures')

OLD_CONFIG = '''\
model = dict(type='Toy', depth=2)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = dict(policy='CosineAnnealing', min_lr=0, warmup='exp',
                 warmup_iters=5, warmup_ratio=0.1)
runner = dict(type='EpochBasedRunner', max_epochs=4)
checkpoint_config = dict(interval=1)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [dict(type='EMAHook', priority='HIGH')]
workflow = [('train', 1)]
'''


def compat_cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'compat', *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_migrate_writes_a_readable_engine_config(tmp_path):
    (tmp_path / 'old.py').write_text(OLD_CONFIG)
    result = compat_cli('migrate', 'old.py', '-o', 'new.py',
                        '--epoch-length', '6', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'migration report' in result.stdout
    assert 'exact        lr_config' in result.stdout
    assert 'max lr difference 0' in result.stdout
    assert 'unsupported  model' in result.stdout
    from engine.config import Config
    cfg = Config.fromfile(str(tmp_path / 'new.py'))
    assert cfg.param_scheduler[0]['type'] == 'ClosedFormLR'
    assert cfg.train_cfg.max_epochs == 4
    assert cfg.legacy_cfg.model.depth == 2
    assert cfg.custom_hooks[0].hook.type == 'EMAHook'
    assert 'compat' in cfg.custom_imports.imports


def test_migrate_reports_a_bad_config_without_a_traceback(tmp_path):
    (tmp_path / 'bad.py').write_text(
        "runner = dict(type='EpochBasedRunner', max_epochs=2, max_iters=3)\n")
    result = compat_cli('migrate', 'bad.py', '-o', 'new.py', cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith('error: runner: only one of')
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'new.py').exists()
    from compat.__main__ import main
    assert main(['upgrade-checkpoint', str(tmp_path / 'nope.pth'),
                 str(tmp_path / 'x.pth')]) == 1


def test_upgrade_rewrites_a_source_tree(tmp_path):
    src = tmp_path / 'project'
    src.mkdir()
    (src / 'train.py').write_text(
        'from mmcv.runner import EpochBasedRunner\n'
        'from mmcv.utils import get_logger, is_list_of\n'
        'import mmengine.model as M\n')
    result = compat_cli('upgrade', 'project', '-o', 'upgraded', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '1 changed' in result.stdout and 'REVIEW' in result.stdout
    new = (tmp_path / 'upgraded' / 'train.py').read_text()
    assert new == ('from legacy import EpochBasedRunner\n'
                   'from legacy import get_logger\n'
                   'from mmcv.utils import is_list_of\n'
                   'import engine.model as M\n')
    report = (tmp_path / 'upgraded' / 'upgrade_report.md').read_text()
    assert 'is_list_of' in report


def test_upgrade_checkpoint_converts_a_real_mmcv_file(tmp_path):
    src = os.path.join(FIXTURES, 'mmcv_iter_10.pth')
    result = compat_cli('upgrade-checkpoint', src, 'new.pth', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'iteration-based' in result.stdout and 'iter 10' in result.stdout
    new = torch.load(tmp_path / 'new.pth', weights_only=True)
    assert new['meta']['iter'] == 10 and 'message_hub' in new
