"""Rewriting a source tree's imports (compat.upgrade), as a user would run
it on an MMCV/MMEngine code base."""
import textwrap

import pytest

from compat.upgrade import upgrade_source, upgrade_tree


def rewrite(src: str):
    new, changes, reviews = upgrade_source(textwrap.dedent(src), 'x.py')
    return new, changes, reviews


@pytest.mark.parametrize('old, new', [
    ('from mmcv.runner import EpochBasedRunner, HOOKS\n',
     'from legacy import EpochBasedRunner, HOOKS\n'),
    ('from mmcv.runner.hooks import Hook\n', 'from legacy import Hook\n'),
    ('from mmcv.utils import get_logger\n', 'from legacy import get_logger\n'),
    ('from mmcv.utils.logging import get_logger\n',
     'from legacy import get_logger\n'),
    ('from mmcv.parallel import MMDataParallel\n',
     'from legacy import MMDataParallel\n'),
    ('from mmengine.runner import Runner\n',
     'from engine.runner import Runner\n'),
    ('from mmengine.model import BaseModel as B\n',
     'from engine.model import BaseModel as B\n'),
    ('import mmengine.model as M\n', 'import engine.model as M\n'),
    ('import mmcv.runner as R\n', 'import legacy as R\n'),
    ('from mmcv import Config\n', 'from engine.config import Config\n'),
    ('from mmengine import Config\n', 'from engine.config import Config\n'),
])
def test_single_import_statements(old, new):
    out, changes, _ = rewrite(old)
    assert out == new
    assert len(changes) == 1 and changes[0].line == 1


def test_layout_and_comments_are_kept_when_only_the_module_changes():
    src = '''\
    from mmcv.runner import (EpochBasedRunner,  # the runner
                             OptimizerHook)
    '''
    out, _, reviews = rewrite(src)
    assert out == textwrap.dedent(src).replace('mmcv.runner', 'legacy')
    assert reviews == []


def test_mixed_names_are_split_and_unknown_ones_kept_for_review():
    src = 'from mmcv.utils import get_logger, Config, is_list_of\n'
    out, _, reviews = rewrite(src)
    assert out == ('from legacy import get_logger\n'
                   'from engine.config import Config\n'
                   'from mmcv.utils import is_list_of\n')
    assert len(reviews) == 1 and 'is_list_of' in reviews[0].message


def test_module_attribute_chains_follow_the_import():
    src = '''\
    import mmcv
    import mmengine

    def build(cfg):
        runner = mmcv.runner.build_runner(cfg)
        logger = mmcv.utils.get_logger('x')
        return runner, logger, mmengine.runner.Runner
    '''
    out, _, reviews = rewrite(src)
    assert 'import legacy\n' in out and 'import engine\n' in out
    assert 'import mmcv' not in out and 'import mmengine' not in out
    assert 'legacy.build_runner(cfg)' in out
    assert "legacy.get_logger('x')" in out
    assert 'engine.runner.Runner' in out
    assert reviews == []


def test_other_mmcv_use_keeps_mmcv_and_asks_for_review():
    src = '''\
    import mmcv
    img = mmcv.imread('a.png')
    runner = mmcv.runner.EpochBasedRunner
    '''
    out, _, reviews = rewrite(src)
    assert out.splitlines()[0] == 'import mmcv, legacy'
    assert "mmcv.imread('a.png')" in out
    assert 'legacy.EpochBasedRunner' in out
    assert [r.line for r in reviews] == [2]


def test_strings_comments_and_lookalikes_are_untouched():
    src = '''\
    # from mmcv.runner import Runner
    text = "from mmcv.runner import Runner"
    mmcv_runner = 1
    '''
    out, changes, reviews = rewrite(src)
    assert out == textwrap.dedent(src)
    assert changes == [] and reviews == []


def test_unsupported_mmcv_packages_are_reported_not_changed():
    out, changes, reviews = rewrite('from mmcv.cnn import ConvModule\n')
    assert out == 'from mmcv.cnn import ConvModule\n'
    assert changes == [] and 'mmcv.cnn' in reviews[0].message


def test_invalid_python_is_copied_and_reported():
    src = 'print "python 2"\n'
    out, changes, reviews = upgrade_source(src, 'old.py')
    assert out == src and changes == []
    assert 'not valid Python 3' in reviews[0].message


def test_upgrade_tree_copies_everything_and_writes_a_report(tmp_path):
    src = tmp_path / 'src'
    (src / 'pkg').mkdir(parents=True)
    (src / 'pkg' / 'train.py').write_text(
        'from mmcv.runner import Runner\nfrom mmcv.cnn import ConvModule\n')
    (src / 'pkg' / 'same.py').write_text('import os\r\n')
    (src / 'README.md').write_text('mmcv.runner docs\n')
    report = upgrade_tree(str(src), str(tmp_path / 'dst'))
    dst = tmp_path / 'dst'
    assert (dst / 'pkg' / 'train.py').read_text().startswith(
        'from legacy import Runner\n')
    assert (dst / 'pkg' / 'same.py').read_bytes() == b'import os\r\n'
    assert (dst / 'README.md').read_text() == 'mmcv.runner docs\n'
    assert report.changed_files == ['pkg/train.py']
    text = (dst / 'upgrade_report.md').read_text()
    assert 'pkg/train.py:1' in text and 'mmcv.cnn' in text


def test_upgrade_tree_refuses_a_destination_inside_the_source(tmp_path):
    (tmp_path / 'a.py').write_text('x = 1\n')
    with pytest.raises(ValueError, match='must not lie inside'):
        upgrade_tree(str(tmp_path), str(tmp_path / 'out'))
