"""Tables, JSON and the optional plot."""
import builtins
import json

from benchlib import report


def test_numbers_are_compact_and_zero_stays_zero():
    assert [report.fmt(v) for v in (0.0, -0.0, 1e-9, 0.5, 123.456, 2e6)] == \
        ['0', '0', '1.00e-09', '0.5', '123.5', '2.00e+06']
    assert [report.fmt(v) for v in (None, float('nan'), True, False, 7)] == \
        ['-', '-', 'yes', 'no', '7']
    assert report.fmt(float('-inf')) == '-inf'


def test_table_aligns_columns():
    text = report.table(['path', 'value'], [['legacy', 0.0], ['adapted', 12.5]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith('legacy ') and lines[2].endswith('0')


def test_json_is_written_whole(tmp_path):
    path = tmp_path / 'sub' / 'out.json'
    report.write_json(str(path), dict(a=[1.5, float('inf')]))
    assert json.loads(path.read_text())['a'][0] == 1.5
    assert [p.name for p in path.parent.iterdir()] == ['out.json']


def test_plot_is_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith('matplotlib'):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_matplotlib)
    note = report.plot_curves(str(tmp_path / 'p.png'), {})
    assert 'matplotlib' in note
    assert not (tmp_path / 'p.png').exists()
