"""compat.install_aliases: unmodified mmcv/mmengine imports resolve to
legacy/engine, and are refused while the real package is imported."""
import sys
import types

import pytest

import compat


@pytest.fixture
def aliases():
    compat.install_aliases()
    try:
        yield
    finally:
        compat.uninstall_aliases()


def test_old_imports_resolve_to_legacy_and_engine(aliases):
    from mmcv.parallel import MMDataParallel
    from mmcv.runner import HOOKS, EpochBasedRunner, Runner
    from mmcv.utils import Config, get_logger
    from mmcv.utils.logging import get_logger as get_logger2
    from mmengine.model import BaseModel
    from mmengine.runner import Runner as EngineRunner
    import mmcv
    import mmcv.runner.hooks

    import engine.config
    import engine.model
    import engine.runner
    import legacy
    assert Runner is legacy.Runner and HOOKS is legacy.HOOKS
    assert EpochBasedRunner is legacy.EpochBasedRunner
    assert get_logger is get_logger2 is legacy.get_logger
    assert MMDataParallel is legacy.MMDataParallel
    assert Config is engine.config.Config
    assert EngineRunner is engine.runner.Runner
    assert BaseModel is engine.model.BaseModel
    assert mmcv.__version__ == '1.7.2'
    assert mmcv.runner.hooks.Hook is legacy.Hook


def test_uninstall_forgets_the_aliases():
    compat.install_aliases()
    import mmcv.runner  # noqa: F401
    assert compat.aliases_installed() and 'mmcv.runner' in sys.modules
    compat.uninstall_aliases()
    assert not compat.aliases_installed()
    assert 'mmcv.runner' not in sys.modules and 'mmcv' not in sys.modules


def test_refused_when_the_real_package_is_imported(monkeypatch):
    fake = types.ModuleType('mmengine')
    fake.__file__ = '/site-packages/mmengine/__init__.py'
    monkeypatch.setitem(sys.modules, 'mmengine', fake)
    with pytest.raises(RuntimeError, match='refused.*mmengine'):
        compat.install_aliases()
    assert not compat.aliases_installed()


def test_missing_names_get_a_clear_error(aliases):
    with pytest.raises(ImportError, match='engine has no such module'):
        import mmengine.nonexistent  # noqa: F401
    with pytest.raises(ImportError, match='no equivalent'):
        import mmcv.cnn  # noqa: F401
    import mmcv.runner
    with pytest.raises(AttributeError, match='install_aliases'):
        mmcv.runner.NoSuchThing
