"""parity.py as a user runs it: exit status, table and JSON."""
import json

import pytest
import torch

from benchlib import ours


def _run(parity_script, tmp_path, *extra):
    return parity_script.main(['--quick', '--no-plot', '--out', str(tmp_path),
                               *extra])


def _nudge(fn, amount):
    """A path whose final weights are moved by ``amount`` (or one ulp)."""
    def run(*args, **kwargs):
        trace = fn(*args, **kwargs)
        weight = trace.params['linear.weight']
        if amount is None:
            trace.params['linear.weight'] = torch.nextafter(
                weight, weight + 1)
        else:
            trace.params['linear.weight'] = weight + amount
        return trace
    return run


def test_three_paths_agree_bitwise(parity_script, tmp_path, capsys):
    assert _run(parity_script, tmp_path, '--settings',
                'momentum_clip_cosine,gan_two_optimizers') == 0
    out = capsys.readouterr().out
    assert 'all parity checks passed' in out
    result = json.loads((tmp_path / 'parity.json').read_text())
    assert result['passed'] and set(result['cases']) == {
        'momentum_clip_cosine/toy', 'gan_two_optimizers/toy'}
    case = result['cases']['momentum_clip_cosine/toy']
    assert case['iterations'] == 50
    assert {(c['path'], c['base'], c['status']) for c in case['comparisons']} \
        == {('adapted', 'legacy', 'bitwise'), ('native', 'legacy', 'bitwise')}
    for path in ('legacy', 'adapted', 'native'):
        assert len(case['paths'][path]['losses']) == 50
        assert len(case['paths'][path]['lrs']) == 50
    # The warm-up really ran: the lr rose over the first ten iterations.
    lrs = [lr[0] for lr in case['paths']['legacy']['lrs']]
    assert lrs[0] < lrs[5] < lrs[10]
    gan = result['cases']['gan_two_optimizers/toy']['paths']['native']
    assert len(gan['losses'][0]) == 2 and len(gan['lrs'][0]) == 2


def test_a_different_path_fails_the_run(parity_script, tmp_path, capsys,
                                        monkeypatch):
    monkeypatch.setitem(ours.PARITY_PATHS, 'native',
                        _nudge(ours.run_native, 1e-3))
    assert _run(parity_script, tmp_path, '--settings', 'sgd_step') == 1
    out = capsys.readouterr().out
    assert 'FAILED 1 check(s)' in out and 'native vs legacy DIFFERENT' in out
    result = json.loads((tmp_path / 'parity.json').read_text())
    assert not result['passed']
    verdict = {c['path']: c for c in result['cases']['sgd_step/toy']['comparisons']}
    assert verdict['native']['max_param_diff'] == pytest.approx(1e-3, rel=1e-3)


def test_one_ulp_passes_unless_strict(parity_script, tmp_path, monkeypatch):
    monkeypatch.setitem(ours.PARITY_PATHS, 'adapted',
                        _nudge(ours.run_adapted, None))
    assert _run(parity_script, tmp_path, '--settings', 'sgd_step') == 0
    assert _run(parity_script, tmp_path, '--settings', 'sgd_step',
                '--strict') == 1


def test_a_crashing_path_is_reported_not_raised(parity_script, tmp_path,
                                               capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('boom in the adapter')
    monkeypatch.setitem(ours.PARITY_PATHS, 'adapted', broken)
    assert _run(parity_script, tmp_path, '--settings', 'sgd_step') == 1
    out = capsys.readouterr().out
    assert 'RuntimeError: boom in the adapter' in out
    assert 'adapted vs legacy ERROR' in out


@pytest.mark.parametrize('argv, message', [
    (['--settings', 'sgd_stpe'], "unknown setting 'sgd_stpe'"),
    (['--scales', 'huge'], "unknown scale 'huge'"),
    (['--reference', '/nonexistent/venv'], 'no bin/python there'),
])
def test_bad_arguments_are_usage_errors(parity_script, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        parity_script.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
