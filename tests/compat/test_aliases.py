"""compat.install_aliases: unmodified mmcv/mmengine imports resolve to
legacy/engine. Each case runs in a fresh interpreter, because aliases (and
the refusal when the real package is loaded) are about a process's import
state."""
import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


def test_old_imports_resolve_to_legacy_and_engine():
    result = run_python('''
        import sys
        import compat
        compat.install_aliases()
        assert 'legacy' not in sys.modules  # resolved lazily
        from mmcv.runner import Runner, EpochBasedRunner, HOOKS
        from mmcv.utils import get_logger
        from mmcv.utils.logging import get_logger as get_logger2
        from mmcv.parallel import MMDataParallel
        from mmengine.runner import Runner as EngineRunner
        from mmengine.model import BaseModel
        import mmcv
        import legacy, engine.runner, engine.model
        assert Runner is legacy.Runner and HOOKS is legacy.HOOKS
        assert get_logger is get_logger2 is legacy.get_logger
        assert MMDataParallel is legacy.MMDataParallel
        assert EngineRunner is engine.runner.Runner
        assert BaseModel is engine.model.BaseModel
        assert mmcv.__version__ == '1.7.2'
        compat.uninstall_aliases()
        assert 'mmcv.runner' not in sys.modules
        try:
            import mmcv.runner
        except ImportError:
            print('gone')
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ('gone', '')


def test_refused_when_the_real_package_is_imported():
    result = run_python('''
        import sys, types
        fake = types.ModuleType('mmcv')
        fake.__file__ = '/site-packages/mmcv/__init__.py'
        sys.modules['mmcv'] = fake
        import compat
        try:
            compat.install_aliases()
        except RuntimeError as exc:
            print(exc)
    ''')
    assert result.returncode == 0, result.stderr
    assert 'refused' in result.stdout and 'mmcv' in result.stdout


def test_missing_names_get_a_clear_error():
    result = run_python('''
        import compat
        compat.install_aliases()
        for stmt in ('from mmengine.nonexistent import x',
                     'import mmcv.cnn'):
            try:
                exec(stmt)
            except ImportError as exc:
                print(type(exc).__name__, exc)
        import mmcv.runner
        try:
            mmcv.runner.NoSuchThing
        except AttributeError as exc:
            print('AttributeError', exc)
    ''')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'engine has no such module' in lines[0]
    assert 'no equivalent' in lines[1]
    assert 'NoSuchThing' in lines[2] and 'install_aliases' in lines[2]
