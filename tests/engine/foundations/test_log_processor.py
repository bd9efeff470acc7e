"""LogProcessor lines and tags equal those recorded from mmengine 0.10.7."""
import pytest

from engine.logging import LogProcessor, MessageHub
from engine.registry import LOG_PROCESSORS

from .conftest import load_fixture

from log_scenarios import FakeRunner, run_scenarios  # noqa: E402 (fixtures)

RECORDED = load_fixture('log_lines.json')
OURS = {r['name']: r for r in run_scenarios(MessageHub, LogProcessor)}


@pytest.mark.parametrize('expected', RECORDED, ids=lambda r: r['name'])
def test_log_line_matches_mmengine(expected):
    ours = OURS[expected['name']]
    assert ours['log'] == expected['log']
    assert ours['tag'] == expected['tag']


def test_every_recorded_scenario_is_run():
    assert sorted(OURS) == sorted(r['name'] for r in RECORDED)


def test_built_from_registry_with_custom_cfg(unique_name):
    processor = LOG_PROCESSORS.build(
        dict(type='LogProcessor', window_size=2, by_epoch=False))
    hub = MessageHub.get_instance(unique_name)
    for value in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', value)
    tag, line = processor.get_log_after_iter(
        FakeRunner(hub, iter=2, max_iters=3), 2, 'train')
    assert tag['loss'] == 3.0
    assert line == 'Iter(train) [3/3]    loss: 3.0000'


@pytest.mark.parametrize('custom_cfg, error', [
    ([dict(data_src='loss', window_size=5),
      dict(data_src='loss', window_size=6)], ValueError),
    ([dict(method_name='mean')], KeyError),
])
def test_bad_custom_cfg_is_rejected(custom_cfg, error):
    with pytest.raises(error, match='custom_cfg'):
        LogProcessor(custom_cfg=custom_cfg)


def test_epoch_window_needs_by_epoch():
    with pytest.raises(ValueError, match='by_epoch'):
        LogProcessor(by_epoch=False,
                     custom_cfg=[dict(data_src='loss', window_size='epoch')])


def test_unknown_window_size_is_a_type_error(unique_name):
    hub = MessageHub.get_instance(unique_name)
    hub.update_scalar('train/loss', 1.0)
    processor = LogProcessor(
        custom_cfg=[dict(data_src='loss', window_size='fortnight')])
    with pytest.raises(TypeError, match='fortnight'):
        processor.get_log_after_iter(FakeRunner(hub), 0, 'train')


def test_bad_mode_is_rejected(unique_name):
    runner = FakeRunner(MessageHub.get_instance(unique_name))
    with pytest.raises(ValueError, match='mode'):
        LogProcessor().get_log_after_iter(runner, 0, 'predict')
    with pytest.raises(ValueError, match='mode'):
        LogProcessor().get_log_after_epoch(runner, 0, 'train')


def test_tags_alone_equal_the_tags_of_a_full_log(unique_name):
    """The logger hook asks for the tags only when its logger drops INFO
    lines; they must be the ones get_log_after_iter returns."""
    hub = MessageHub.get_instance(unique_name)
    for value in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', value)
        hub.update_scalar('train/lr', 0.1)
        hub.update_scalar('train/time', 0.5)
    for kwargs in (dict(), dict(by_epoch=False),
                   dict(log_with_hierarchy=True)):
        runner = FakeRunner(hub, iter=2, max_iters=3)
        full, _ = LogProcessor(**kwargs).get_log_after_iter(runner, 2,
                                                           'train')
        alone = LogProcessor(**kwargs).get_tag_after_iter(runner, 2, 'train')
        assert list(alone.items()) == list(full.items())


def test_new_keys_and_a_new_pattern_are_seen_after_the_first_line(
        unique_name):
    """Which keys are averaged is worked out once and kept; a key logged
    for the first time later, or a replaced mean_pattern, must show."""
    import re
    hub = MessageHub.get_instance(unique_name)
    processor = LogProcessor(window_size=2)
    runner = FakeRunner(hub, iter=1, max_iters=3)
    hub.update_scalar('train/loss', 1.0)
    hub.update_scalar('train/loss', 3.0)
    assert processor.get_tag_after_iter(runner, 1, 'train') == dict(
        loss=2.0, epoch=1, iter=2)
    hub.update_scalar('train/acc', 0.5)
    hub.update_scalar('train/acc', 0.7)
    tag = processor.get_tag_after_iter(runner, 1, 'train')
    assert tag['acc'] == 0.7  # not a mean: its latest value
    processor.mean_pattern = re.compile(r'.*(loss|acc).*')
    tag = processor.get_tag_after_iter(runner, 1, 'train')
    assert tag['acc'] == (0.5 + 0.7) / 2
