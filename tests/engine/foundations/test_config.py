"""Config: files of every kind, inheritance, overrides, dumps and errors."""
import argparse
import copy
import json
import pickle

import pytest

from engine.config import Config, ConfigDict, DictAction


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def base_py(tmp_path):
    write(tmp_path / 'base.py', (
        "model = dict(type='ToyModel', depth=18, head=dict(num_classes=10))\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
        "custom_hooks = [dict(type='EMAHook', interval=1),\n"
        "                dict(type='EmptyCacheHook')]\n"
        "work_dir = './work_dirs/{{ fileBasenameNoExtension }}'\n"))
    return tmp_path


def test_python_config_keeps_only_public_plain_names(tmp_path):
    path = write(tmp_path / 'cfg.py', (
        'import os\n'
        'from collections import OrderedDict\n'
        'def helper(x):\n    return x * 2\n'
        'class Thing:\n    pass\n'
        '_private = 1\n'
        'lr = helper(0.05)\n'
        "pair = (1, 'a')\n"
        'nothing = None\n'))
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == dict(lr=0.1, pair=(1, 'a'), nothing=None)
    assert cfg.filename == path
    assert 'lr = helper(0.05)' in cfg.text


def test_attribute_and_item_access(base_py):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    assert cfg.model.head.num_classes == 10
    assert cfg['model']['head']['num_classes'] == 10
    assert isinstance(cfg.model, ConfigDict)
    assert isinstance(cfg.custom_hooks[0], ConfigDict)
    assert cfg.get('missing', 'default') == 'default'
    assert 'model' in cfg and len(cfg) == 4
    cfg.model.depth = 50
    cfg.new = dict(a=dict(b=1))
    assert cfg.new.a.b == 1 and cfg.model['depth'] == 50
    with pytest.raises(AttributeError, match='nope'):
        cfg.model.nope
    with pytest.raises(KeyError):
        cfg.model['nope']


def test_predefined_variables(base_py):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    assert cfg.work_dir == './work_dirs/base'


def test_inheritance_merge_and_delete(base_py):
    path = write(base_py / 'child.py', (
        "_base_ = './base.py'\n"
        'model = dict(depth=50, head=dict(_delete_=True, type="Linear"))\n'
        "optim_wrapper = dict(optimizer=dict(lr=_base_.optim_wrapper."
        "optimizer.lr / 10))\n"
        'extra = dict(_delete_=True, a=1)\n'))
    cfg = Config.fromfile(path)
    assert cfg.model.to_dict() == dict(type='ToyModel', depth=50,
                                       head=dict(type='Linear'))
    assert cfg.optim_wrapper.optimizer.to_dict() == dict(type='SGD', lr=0.01)
    assert cfg.extra.to_dict() == dict(a=1)
    assert cfg.work_dir == './work_dirs/base'
    assert str(base_py / 'base.py') in cfg.text


def test_multiple_and_nested_bases_in_json_and_yaml(base_py):
    write(base_py / 'runtime.json', json.dumps(
        dict(_base_='./base.py', log_level='INFO', seed=3)))
    write(base_py / 'data.yaml', 'train_dataloader:\n  batch_size: 2\n')
    path = write(base_py / 'top.yml', (
        '_base_: [./runtime.json, ./data.yaml]\n'
        'seed: 7\n'
        'train_dataloader:\n  num_workers: 0\n'))
    cfg = Config.fromfile(path)
    assert cfg.seed == 7 and cfg.log_level == 'INFO'
    assert cfg.train_dataloader.to_dict() == dict(batch_size=2,
                                                  num_workers=0)
    assert cfg.model.depth == 18


def test_base_variable_references(base_py):
    path = write(base_py / 'ref.py', (
        "_base_ = ['./base.py']\n"
        'head_copy = {{_base_.model.head}}\n'
        'first_hook = {{_base_.custom_hooks.0.type}}\n'))
    cfg = Config.fromfile(path)
    assert cfg.head_copy.to_dict() == dict(num_classes=10)
    assert cfg.first_hook == 'EMAHook'


def test_environment_variables(tmp_path, monkeypatch):
    path = write(tmp_path / 'env.py', (
        "data_root = '{{$FOUNDATIONS_DATA_ROOT:/default}}/images'\n"
        "classes = {{'$FOUNDATIONS_NUM_CLASSES:80'}}\n"))
    monkeypatch.delenv('FOUNDATIONS_DATA_ROOT', raising=False)
    monkeypatch.setenv('FOUNDATIONS_NUM_CLASSES', '3')
    cfg = Config.fromfile(path)
    assert cfg.data_root == '/default/images' and cfg.classes == 3
    assert cfg.env_variables == dict(FOUNDATIONS_NUM_CLASSES='3')


def test_duplicate_keys_among_bases_are_rejected(tmp_path):
    write(tmp_path / 'a.py', 'x = 1\n')
    write(tmp_path / 'b.py', 'x = 2\n')
    path = write(tmp_path / 'c.py', "_base_ = ['./a.py', './b.py']\n")
    with pytest.raises(KeyError, match="same keys.*'x'"):
        Config.fromfile(path)


def test_merging_a_dict_into_a_scalar_needs_delete(tmp_path):
    write(tmp_path / 'a.py', 'opt = dict(lr=0.1)\n')
    path = write(tmp_path / 'b.py', "_base_ = './a.py'\nopt = dict(lr=dict(x=1))\n")
    with pytest.raises(TypeError, match=r'opt\.lr.*_delete_'):
        Config.fromfile(path)


def test_merge_from_dict(base_py):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    cfg.merge_from_dict({
        'model.head.num_classes': 3,
        'custom_hooks.0.interval': 5,
        'custom_hooks.1': dict(_delete_=True, type='Other'),
        'new.deep.key': [1, 2],
        'optim_wrapper.optimizer': dict(momentum=0.9),
    })
    assert cfg.model.head.num_classes == 3
    assert cfg.custom_hooks[0].to_dict() == dict(type='EMAHook', interval=5)
    assert cfg.custom_hooks[1].to_dict() == dict(type='Other')
    assert cfg.new.deep.key == [1, 2]
    assert cfg.optim_wrapper.optimizer.to_dict() == dict(
        type='SGD', lr=0.1, momentum=0.9)


@pytest.mark.parametrize('options, error, match', [
    ({'optim_wrapper.optimizer.lr.value': 1}, TypeError, r'optimizer\.lr'),
    ({'custom_hooks.5.interval': 1}, IndexError, 'out of range'),
    ({'custom_hooks.first': 1}, TypeError, 'list index'),
    ({'model.depth': 1, 'model.depth.x': 2}, KeyError, 'conflicts'),
])
def test_merge_from_dict_errors_name_the_key(base_py, options, error, match):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    with pytest.raises(error, match=match):
        cfg.merge_from_dict(options)


def test_merge_from_dict_without_list_keys(base_py):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    with pytest.raises(TypeError):
        cfg.merge_from_dict({'custom_hooks.0.interval': 5},
                            allow_list_keys=False)


@pytest.mark.parametrize('suffix', ['.py', '.json', '.yaml'])
def test_dump_round_trip(base_py, tmp_path, suffix):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    cfg.merge_from_dict({'model.scale': 1e-12, 'model.neg': -0.5,
                         'model.flags': [True, None, 'x y']})
    if suffix == '.py':
        cfg.merge_from_dict({'model.shape': (1, (2, 3), ()),
                             'model.inf': float('inf'),
                             'model.mapping': {'with space': 1, 2: 'two'}})
    out = tmp_path / f'dumped{suffix}'
    cfg.dump(out)
    assert Config.fromfile(str(out)).to_dict() == cfg.to_dict()


def test_pretty_text_is_readable_python(base_py):
    cfg = Config.fromfile(str(base_py / 'base.py'))
    cfg.merge_from_dict({'long': [f'item_number_{i}' for i in range(12)]})
    text = cfg.pretty_text
    assert ("model = dict(type='ToyModel', depth=18, head=dict("
            "num_classes=10))\n") in text
    assert "long = [\n    'item_number_0',\n" in text
    assert max(len(line) for line in text.splitlines()) <= 79
    assert Config.fromstring(text, '.py').to_dict() == cfg.to_dict()
    assert cfg.dump() == text


def test_dump_without_file_uses_source_format(tmp_path):
    path = write(tmp_path / 'a.json', '{"a": [1, 2]}')
    assert json.loads(Config.fromfile(path).dump()) == dict(a=[1, 2])


def test_classes_are_dumped_as_import_paths(tmp_path):
    import torch
    cfg = Config(dict(model=dict(type=torch.nn.Linear)))
    assert "type='torch.nn.modules.linear.Linear'" in cfg.pretty_text


def test_dump_rejects_values_without_literal(tmp_path):
    cfg = Config(dict(model=dict(weights=object())))
    with pytest.raises(TypeError, match='model.weights'):
        cfg.dump(tmp_path / 'x.py')
    assert 'object object' in cfg.pretty_text


def test_config_from_dict_copy_and_pickle():
    cfg = Config(dict(a=dict(b=[dict(c=1)])), filename='virtual.py')
    deep = copy.deepcopy(cfg)
    deep.a.b[0].c = 2
    assert cfg.a.b[0].c == 1
    shallow = copy.copy(cfg)
    shallow.z = 1
    assert 'z' not in cfg
    restored = pickle.loads(pickle.dumps(cfg))
    assert restored.to_dict() == cfg.to_dict()
    assert restored.filename == 'virtual.py'
    assert isinstance(restored.a, ConfigDict)
    assert 'virtual.py' in repr(cfg)


def test_config_dict_behaves_like_a_dict():
    d = ConfigDict(a=1, b=dict(c=[dict(d=2)], e=(dict(f=3), )))
    assert d.b.c[0].d == 2 and d.b.e[0].f == 3
    assert d == dict(a=1, b=dict(c=[dict(d=2)], e=(dict(f=3), )))
    d.update(b=dict(c=5))
    assert d.b.to_dict() == dict(c=5, e=({'f': 3}, ))
    assert isinstance(d.copy(), ConfigDict)
    assert d.setdefault('g', dict(h=1)).h == 1
    del d.g
    assert not hasattr(d, 'g')
    assert type(d.to_dict()['b']) is dict
    d.merge(dict(b=dict(_delete_=True, x=1), a=2))
    assert d.to_dict() == dict(a=2, b=dict(x=1))


@pytest.mark.parametrize('key', ['filename', 'text', 'pretty_text'])
def test_reserved_keys_are_rejected(key):
    with pytest.raises(KeyError, match=key):
        Config({key: 1})


def test_non_dict_is_rejected():
    with pytest.raises(TypeError, match='list'):
        Config([1, 2])


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.py'):
        Config.fromfile(str(tmp_path / 'missing.py'))
    path = write(tmp_path / 'cfg.txt', 'a = 1')
    with pytest.raises(OSError, match=r"'\.txt'.*\.py"):
        Config.fromfile(path)


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path / 'broken.py', 'a = 1\nb = dict(\nc = 3\n')
    with pytest.raises(SyntaxError, match=r'broken\.py, line 2') as info:
        Config.fromfile(path)
    assert info.value.filename == path


def test_missing_base_names_child_and_base(tmp_path):
    path = write(tmp_path / 'child.py', "_base_ = './nope.py'\n")
    with pytest.raises(FileNotFoundError, match=r"child\.py.*'\./nope\.py'"):
        Config.fromfile(path)


def test_circular_base_is_reported(tmp_path):
    write(tmp_path / 'a.py', "_base_ = './b.py'\n")
    path = write(tmp_path / 'b.py', "_base_ = './a.py'\n")
    with pytest.raises(RuntimeError, match='circular'):
        Config.fromfile(path)


def test_missing_environment_variable_without_default(tmp_path, monkeypatch):
    monkeypatch.delenv('FOUNDATIONS_UNSET_VAR', raising=False)
    path = write(tmp_path / 'e.py', "x = '{{$FOUNDATIONS_UNSET_VAR:}}'\n")
    with pytest.raises(KeyError, match='FOUNDATIONS_UNSET_VAR'):
        Config.fromfile(path)


def test_custom_imports_are_imported(tmp_path, monkeypatch):
    (tmp_path / 'foundations_custom_mod.py').write_text('IMPORTED = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path / 'c.py', (
        "custom_imports = dict(imports=['foundations_custom_mod'], "
        'allow_failed_imports=False)\n'))
    Config.fromfile(path)
    import sys
    assert sys.modules['foundations_custom_mod'].IMPORTED
    bad = write(tmp_path / 'd.py',
                "custom_imports = dict(imports=['no_such_mod_here'])\n")
    with pytest.raises(ImportError):
        Config.fromfile(bad)


def test_dict_action_parses_overrides():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args([
        '--cfg-options', 'model.depth=50', 'lr=0.01', 'flag=false',
        'none=None', 'ids=1,2,3', 'nested=[(1,2),[a,b],c]', 'name=resnet',
        'quoted="x"'
    ])
    assert args.cfg_options == {
        'model.depth': 50, 'lr': 0.01, 'flag': False, 'none': None,
        'ids': [1, 2, 3], 'nested': [(1, 2), ['a', 'b'], 'c'],
        'name': 'resnet', 'quoted': 'x'
    }
    cfg = Config(dict(model=dict(depth=18)))
    cfg.merge_from_dict(args.cfg_options)
    assert cfg.model.depth == 50


def test_dict_action_rejects_missing_equals(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'novalue'])
    assert 'KEY=VALUE' in capsys.readouterr().err
