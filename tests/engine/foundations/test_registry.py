"""Registry: registration, building, suggestions, scopes, lazy locations."""
import sys
import types

import pytest
import torch

from engine.config import Config, ConfigDict
from engine.logging import MessageHub
from engine.registry import (DATA_SAMPLERS, FUNCTIONS, LOG_PROCESSORS,
                             MissingTypeError, Registry, RegistryError,
                             build_from_cfg, build_model_from_cfg,
                             build_runner_from_cfg, build_scheduler_from_cfg)


@pytest.fixture
def models():
    registry = Registry('toy model', scope='toy')

    @registry.register_module()
    class ResNet:

        def __init__(self, depth, stages=4):
            self.depth, self.stages = depth, stages

    @registry.register_module(name=['Net', 'AliasNet'])
    def make_net(width=1):
        return ('net', width)

    return registry


def test_register_as_decorator_call_and_alias(models):

    class Direct:
        pass

    assert models.register_module(module=Direct) is Direct
    assert set(models.module_dict) == {'ResNet', 'Net', 'AliasNet', 'Direct'}
    assert len(models) == 4
    assert 'ResNet' in models and 'Missing' not in models
    assert models.get('Net') is models.get('AliasNet')


def test_duplicate_name_needs_force(models):

    class ResNet:
        pass

    with pytest.raises(KeyError, match='already registered'):
        models.register_module(module=ResNet)
    models.register_module(module=ResNet, force=True)
    assert models.get('ResNet') is ResNet


@pytest.mark.parametrize('bad', [dict(name=3), dict(force='yes')])
def test_register_rejects_bad_arguments(models, bad):
    with pytest.raises(TypeError):
        models.register_module(**bad)


def test_register_rejects_non_callable(models):
    with pytest.raises(TypeError, match='int'):
        models.register_module(module=5)


def test_build_merges_default_args_with_cfg_priority(models):
    net = models.build(dict(type='ResNet', depth=50),
                       default_args=dict(stages=3, depth=18))
    assert (net.depth, net.stages) == (50, 3)
    assert models.build(dict(type='Net', width=2)) == ('net', 2)


@pytest.mark.parametrize('cfg', [
    dict(type='ResNet', depth=50),
    ConfigDict(type='ResNet', depth=50),
    Config(dict(type='ResNet', depth=50)),
])
def test_build_accepts_dict_configdict_and_config(models, cfg):
    assert build_from_cfg(cfg, models).depth == 50


def test_type_may_be_a_class(models):

    class Unregistered:

        def __init__(self, x):
            self.x = x

    assert models.build(dict(type=Unregistered, x=1)).x == 1


def test_unknown_type_lists_closest_names(models):
    with pytest.raises(KeyError) as info:
        models.build(dict(type='ResNett', depth=1))
    message = str(info.value)
    assert "'ResNett' is not in the toy::toy model registry" in message
    assert 'Closest registered names: ResNet' in message


def test_cfg_without_type_is_key_and_type_error(models):
    with pytest.raises(MissingTypeError) as info:
        models.build(dict(depth=50))
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, TypeError)
    assert '"type"' in str(info.value)


@pytest.mark.parametrize('cfg', [['ResNet'], 'ResNet', None])
def test_cfg_that_is_not_a_dict_is_a_type_error(models, cfg):
    with pytest.raises(TypeError, match='must be a dict'):
        build_from_cfg(cfg, models)


def test_bad_type_value_and_bad_constructor_arguments(models):
    with pytest.raises(TypeError, match='registered name or a class'):
        models.build(dict(type=3))
    with pytest.raises(TypeError, match="ResNet.*\\['width'\\].*unexpected"):
        models.build(dict(type='ResNet', width=3))


def test_registry_argument_is_checked():
    with pytest.raises(TypeError, match='Registry'):
        build_from_cfg(dict(type='X'), registry=dict())


def test_child_falls_back_to_parent_and_scoped_lookup(models):
    child = Registry('toy model', parent=models, scope='downstream')

    @child.register_module()
    class Head:
        pass

    assert child.get('ResNet') is models.get('ResNet')
    assert child.get('Head') is Head
    assert models.get('Head') is None
    assert models.get('downstream.Head') is Head
    assert child.get('toy.ResNet') is models.get('ResNet')
    assert child.root is models
    net = child.build(dict(type='ResNet', depth=1))
    assert net.depth == 1
    built = models.build(dict(type='Head', _scope_='downstream'))
    assert isinstance(built, Head)
    with pytest.raises(KeyError, match='_scope_'):
        models.build(dict(type='Head', _scope_='nowhere'))


def test_duplicate_child_scope_is_rejected(models):
    Registry('a', parent=models, scope='same')
    with pytest.raises(KeyError, match='same'):
        Registry('b', parent=models, scope='same')


def test_scope_is_inferred_from_the_creating_package():
    assert Registry('inferred').scope == 'foundations'


def test_dotted_import_path_resolves(models):
    assert models.get('torch.nn.Linear') is torch.nn.Linear
    assert models.get('nowhere_pkg.Thing') is None
    layer = models.build(dict(type='torch.nn.Linear', in_features=2,
                              out_features=1))
    assert isinstance(layer, torch.nn.Linear)


def test_get_requires_a_str_key(models):
    with pytest.raises(TypeError, match='str key'):
        models.get(3)


def test_locations_are_imported_on_first_miss(tmp_path, monkeypatch,
                                              unique_name):
    suffix = str(abs(hash(unique_name)))
    holder, filler = f'lazy_holder_{suffix}', f'lazy_filler_{suffix}'
    registry = Registry('lazy', scope='lazy', locations=[filler])
    monkeypatch.setitem(sys.modules, holder,
                        types.SimpleNamespace(REGISTRY=registry, imports=[]))
    (tmp_path / f'{filler}.py').write_text(
        f'import {holder} as holder\n'
        'holder.imports.append(1)\n'
        '@holder.REGISTRY.register_module()\n'
        'class Filled:\n'
        '    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, filler, raising=False)

    assert len(registry) == 0 and sys.modules[holder].imports == []
    assert registry.get('Filled').__name__ == 'Filled'
    assert registry.get('Missing') is None
    assert sys.modules[holder].imports == [1]


def test_missing_location_module_is_skipped():
    registry = Registry('lazy', scope='lazy2',
                        locations=['engine.no_such_module_here'])
    assert registry.get('Anything') is None


def test_root_registries_find_engine_members_lazily():
    assert DATA_SAMPLERS.get('DefaultSampler').__name__ == 'DefaultSampler'
    assert FUNCTIONS.get('pseudo_collate').__name__ == 'pseudo_collate'
    assert LOG_PROCESSORS.get('LogProcessor').__name__ == 'LogProcessor'


def test_manager_classes_are_built_as_named_instances(models, unique_name):
    models.register_module(module=MessageHub)
    hub = models.build(dict(type='MessageHub', name=unique_name))
    assert hub is MessageHub.get_instance(unique_name)
    assert models.build(dict(type='MessageHub', name=unique_name)) is hub


def test_registry_error_prints_without_quotes():
    assert str(RegistryError('plain')) == 'plain'


def test_scheduler_build_converts_epochs_to_iterations():
    schedulers = Registry('scheduler', scope='sched',
                          build_func=build_scheduler_from_cfg)

    @schedulers.register_module()
    class Step:

        def __init__(self, optimizer, step, by_epoch=True):
            self.optimizer, self.step = optimizer, step
            self.by_epoch = by_epoch

        @classmethod
        def build_iter_from_epoch(cls, optimizer, step, epoch_length,
                                  by_epoch=True):
            return cls(optimizer, step * epoch_length, by_epoch=False)

    args = dict(optimizer='opt', epoch_length=5)
    plain = schedulers.build(dict(type='Step', step=2), default_args=args)
    assert (plain.step, plain.by_epoch) == (2, True)
    converted = schedulers.build(
        dict(type='Step', step=2, convert_to_iter_based=True),
        default_args=args)
    assert (converted.step, converted.by_epoch) == (10, False)
    with pytest.raises(KeyError, match='epoch_length'):
        schedulers.build(dict(type='Step', step=2, optimizer='o',
                              convert_to_iter_based=True))
    with pytest.raises(ValueError, match='by_epoch'):
        schedulers.build(dict(type='Step', step=2, by_epoch=False,
                              convert_to_iter_based=True), default_args=args)


def test_model_list_builds_a_sequential():
    models = Registry('model', scope='seq', build_func=build_model_from_cfg)
    built = models.build([
        dict(type='torch.nn.Linear', in_features=2, out_features=3),
        dict(type='torch.nn.ReLU')
    ])
    assert isinstance(built, torch.nn.Sequential) and len(built) == 2


def test_runner_build_goes_through_from_cfg():
    runners = Registry('runner', scope='run', build_func=build_runner_from_cfg)

    @runners.register_module()
    class Runner:

        @classmethod
        def from_cfg(cls, cfg):
            return ('default', cfg['work_dir'])

    @runners.register_module()
    class Custom(Runner):

        @classmethod
        def from_cfg(cls, cfg):
            return ('custom', cfg.work_dir)

    assert runners.build(dict(work_dir='w')) == ('default', 'w')
    assert runners.build(dict(runner_type='Custom', work_dir='w')) == (
        'custom', 'w')
