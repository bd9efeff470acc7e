"""The compat examples run as files, the way the docs tell users to."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'examples')


@pytest.mark.parametrize('name, expected', [
    ('compat_seed_sample.py', 'final weight'),
    ('compat_gan.py', "final lr {'generator.lr': [0.0001]"),
])
def test_example_runs(tmp_path, name, expected):
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name)], cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'migration report' in result.stdout
    assert expected in result.stdout
