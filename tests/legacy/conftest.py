"""Fixtures of the legacy tests: a quiet, uniquely named logger per test."""
import logging
import uuid

import pytest

import legacy


@pytest.fixture
def logger():
    """A legacy logger of its own (names are process-global), at WARNING so
    that tests stay quiet unless they look at the messages (caplog)."""
    return legacy.get_logger(f'legacy-test-{uuid.uuid4().hex[:10]}',
                             log_level=logging.WARNING)
