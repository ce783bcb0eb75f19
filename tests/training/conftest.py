"""Fixtures the sandbox tests share."""

import pytest

from tests.training.test_sandbox_hostile import assert_nothing_left
from training.sandbox import runner


@pytest.fixture
def sandbox_uids(monkeypatch):
    """The fresh uids sandboxes get during the test; afterwards none of them may have a process left."""
    uids: set[int] = set()
    fresh = runner.fresh_uid

    def recording() -> int:
        uid = fresh()
        uids.add(uid)
        return uid

    monkeypatch.setattr(runner, "fresh_uid", recording)
    yield uids
    assert_nothing_left(uids)
