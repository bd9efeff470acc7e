"""The MMCV sample of the seed document, run unchanged but for its imports,
against what the real mmcv 1.7.2 printed and logged for it
(tests/legacy/fixtures/mmcv_seed_sample.json)."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tests' / 'legacy'))

import legacy_scenarios as sc  # noqa: E402

FIXTURE = ROOT / 'tests' / 'legacy' / 'fixtures' / 'mmcv_seed_sample.json'


def test_seed_sample_only_imports_differ_from_the_seed_document():
    source = sc.SEED_SAMPLE.read_text()
    imports = [line for line in source.splitlines()
               if re.match(r'(from|import) ', line)]
    assert 'from legacy import Runner' in imports
    assert 'from legacy import get_logger' in imports
    assert not any('mmcv' in line for line in imports)


@pytest.mark.filterwarnings('ignore:Runner was deprecated')
def test_seed_sample_matches_mmcv(tmp_path, capfd):
    expected = json.loads(FIXTURE.read_text())
    got = sc.seed_sample(sc.SEED_SAMPLE.read_text(), str(tmp_path))
    assert got['formats'] == expected['formats']
    assert got['lines'] == expected['lines']
    assert got['records'] == expected['records']
    assert got['params'] == expected['params']
    # the console shows mmcv's line format
    err = capfd.readouterr().err
    assert re.search(
        r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - demo - INFO - '
        r'Epoch \[1\]\[10/25\]\tlr: 1\.000e-02, eta: \d+:\d\d:\d\d, '
        r'time: \d\.\d{3}, data_time: \d\.\d{3}, loss1: 0\.1230, '
        r'loss2: 0\.3897$', err, re.M), err
    assert (tmp_path / 'tmp_dir').is_dir()
