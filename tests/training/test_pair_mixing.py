"""Completion pairs mixed with whole-program pairs for train-rm: the share holds, nothing is dropped."""

from __future__ import annotations

import pytest

from engine.errors import CodescalerError
from training.data.pairs import EDITOR_FIELDS, Pair
from training.pair_mixing import is_completion_pair, mix


def pairs(programs: int, completions: int) -> list[Pair]:
    whole = [Pair(f"q{i}", f"pos{i}", f"neg{i}") for i in range(programs)]
    fills = [
        Pair(f"c{i}", f"chosen{i}", f"rejected{i}", {"kind": "fim"}, EDITOR_FIELDS)
        for i in range(completions)
    ]
    return whole + fills


@pytest.mark.parametrize(("programs", "completions", "share"), [(30, 5, 0.5), (10, 40, 0.5), (12, 6, 0.25)])
def test_the_share_holds_and_every_pair_stays(programs, completions, share):
    given = pairs(programs, completions)
    mixed = mix(given, share, seed=1)
    assert {p.key() for p in mixed} == {p.key() for p in given}  # repeats only, nothing thrown away
    got = sum(map(is_completion_pair, mixed)) / len(mixed)
    assert abs(got - share) < 0.02
    assert mix(given, share, seed=1) == mixed and mix(given, share, seed=2) != mixed


def test_no_share_keeps_rows_as_they_are_and_the_ends_pick_one_kind():
    given = pairs(4, 3)
    assert mix(given, None, 0) == given
    assert all(map(is_completion_pair, mix(given, 1, 0))) and len(mix(given, 1, 0)) == 3
    assert not any(map(is_completion_pair, mix(given, 0, 0))) and len(mix(given, 0, 0)) == 4


def test_a_share_needs_both_kinds_and_a_share_in_range():
    with pytest.raises(CodescalerError, match="no completion pairs"):
        mix(pairs(4, 0), 0.5, 0)
    with pytest.raises(CodescalerError, match=r"within 0\.\.1"):
        mix(pairs(4, 4), 1.5, 0)
