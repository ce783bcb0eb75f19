"""Atomic output files get the mode the user's umask gives any new file, not mkstemp's private 0600."""

import os
import stat

import pytest

from engine.jsonl import write_jsonl_atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_output_follows_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_jsonl_atomic(tmp_path / "out.jsonl", [{"a": 1}])
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == mode
    assert (tmp_path / "out.jsonl").read_text() == '{"a": 1}\n'
