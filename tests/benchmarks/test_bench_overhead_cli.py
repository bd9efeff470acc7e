"""overhead.py as a user runs it: output structure and exit status.

Nothing here asserts a duration: the figures depend on the machine.
"""
import json
import os
import sys

import pytest

from benchlib import overhead_jobs as oj

OUR_PATHS = {'plain', 'legacy', 'adapted', 'native'}


def test_quick_run_measures_every_path(overhead_script, tmp_path, capsys):
    code = overhead_script.main(['--quick', '--workloads', 'tiny',
                                 '--import-repeats', '0', '--out', str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert '== per iteration, tiny model' in out and '== targets' in out
    result = json.loads((tmp_path / 'overhead.json').read_text())
    ours = result['ours']
    tiny = ours['per_iteration']['tiny']
    assert set(tiny) == OUR_PATHS
    assert tiny['plain']['ratio'] == 1.0 and tiny['plain']['overhead_us'] == 0
    for values in tiny.values():
        assert values['us_per_iter'] > 0
    assert set(ours['epoch_transition_ms']) == OUR_PATHS
    assert set(ours['memory']) == OUR_PATHS
    assert ours['memory']['plain']['excess_bytes_per_iter'] == 0
    names = {t['name']: t for t in result['targets']}
    assert names['native: tiny-model ratio']['limit'] == 1.03
    assert names['legacy: tiny-model ratio']['limit'] == 1.05
    # Import timing was skipped: its targets are unmeasured, not failed.
    assert names['native: import + build s']['met'] is None


def _fabricated(ratio):
    paths = {p: dict(us_per_iter=100.0 * ratio, overhead_us=0.0, ratio=ratio,
                     fixed_ms=1.0) for p in OUR_PATHS}
    memory = {p: dict(peak_kib_short=1.0, peak_kib_long=1.0, bytes_per_iter=0.0,
                      excess_bytes_per_iter=0.0) for p in OUR_PATHS}
    return dict(per_iteration=dict(tiny=paths),
                epoch_transition_ms={p: 0.1 for p in OUR_PATHS},
                memory=memory, import_build_s={})


@pytest.mark.parametrize('ratio, check, code', [
    (1.01, True, 0), (1.5, False, 0), (1.5, True, 1)])
def test_check_turns_a_missed_target_into_failure(overhead_script, tmp_path,
                                                  monkeypatch, capsys,
                                                  ratio, check, code):
    monkeypatch.setattr(overhead_script, 'measure_ours',
                        lambda args: _fabricated(ratio))
    argv = ['--quick', '--workloads', 'tiny', '--out', str(tmp_path)]
    assert overhead_script.main(argv + (['--check'] if check else [])) == code
    out = capsys.readouterr().out
    assert ('missed 3 target(s)' in out) == (ratio > 1.05)


def test_import_and_build_runs_in_a_fresh_interpreter():
    bench_dir = os.path.dirname(os.path.dirname(oj.__file__))
    timing = oj.import_and_build(sys.executable, bench_dir, 'benchlib.ours',
                                 'native_api', 'native', repeats=1)
    assert timing['import_s'] > 0 and timing['build_s'] > 0
    assert timing['total_s'] == timing['import_s'] + timing['build_s']


@pytest.mark.parametrize('argv, message', [
    (['--workloads', 'huge'], "unknown ['huge']"),
    (['--repeats', '0'], 'at least 1'),
    (['--reference', '/nonexistent/venv'], 'no bin/python there'),
])
def test_bad_arguments_are_usage_errors(overhead_script, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        overhead_script.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
