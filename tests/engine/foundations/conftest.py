"""Helpers for the foundations tests: reference fixtures recorded from the
real mmengine live in fixtures/ with the script that recorded them."""
import json
import os.path as osp
import sys

import pytest

FIXTURES = osp.join(osp.dirname(osp.abspath(__file__)), 'fixtures')
if FIXTURES not in sys.path:
    sys.path.insert(0, FIXTURES)


def load_fixture(name: str):
    with open(osp.join(FIXTURES, name)) as f:
        return json.load(f)['data']


@pytest.fixture
def unique_name(request):
    """A name no other test (or xdist worker) uses for a global instance."""
    return f'{request.node.nodeid}-{id(request)}'
