"""The reference runner's only intervention in mmcv: counting its sleeps."""
import time


def test_parity_runs_count_mmcv_sleeps_without_sleeping(reference_script,
                                                         monkeypatch):
    slept = []
    monkeypatch.setattr(time, 'sleep', slept.append)
    ledger = reference_script.SleepLedger(skip=True)
    ledger.sleep(2)
    ledger.sleep(1)
    assert ledger.requested == 3 and slept == []
    # Everything else of the time module stays reachable through it.
    assert ledger.perf_counter is time.perf_counter


def test_overhead_runs_really_sleep(reference_script, monkeypatch):
    slept = []
    monkeypatch.setattr(time, 'sleep', slept.append)
    ledger = reference_script.SleepLedger(skip=False)
    ledger.sleep(2)
    assert ledger.requested == 2 and slept == [2]
