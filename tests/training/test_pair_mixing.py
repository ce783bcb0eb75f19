"""Completion pairs mixed with whole-program pairs for train-rm: the share holds, nothing is dropped."""

from __future__ import annotations

import pytest

from engine.errors import CodescalerError
from training.data.pairs import EDITOR_FIELDS, Pair
from training.pair_mixing import DEFAULT_FEEDBACK_SHARE, is_completion_pair, is_feedback_pair, mix


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


def feedback(count: int) -> list[Pair]:
    return [
        Pair(f"f{i}", f"taken{i}", f"passed{i}", {"kind": "feedback", "request": f"r{i}"}, EDITOR_FIELDS)
        for i in range(count)
    ]


@pytest.mark.parametrize(("verified", "accepted", "share"), [(20, 4, None), (20, 40, 0.1), (10, 10, 0.5)])
def test_feedback_pairs_take_their_share_of_execution_verified_rows(verified, accepted, share):
    given = pairs(verified, 0) + feedback(accepted)
    mixed = mix(given, None, seed=1, feedback_share=share)
    assert {p.key() for p in mixed} == {p.key() for p in given}
    got = sum(map(is_feedback_pair, mixed)) / len(mixed)
    assert abs(got - (DEFAULT_FEEDBACK_SHARE if share is None else share)) < 0.03
    assert not any(map(is_completion_pair, feedback(3)))  # same fields as completion pairs, not verified


def test_feedback_pairs_alone_are_refused_unless_asked_for():
    with pytest.raises(CodescalerError, match="feedback pairs alone lower quality"):
        mix(feedback(5), None, 0)
    assert mix(feedback(5), None, 0, feedback_share=1) == feedback(5)
    assert mix(pairs(3, 0) + feedback(5), None, 0, feedback_share=0) == pairs(3, 0)
    with pytest.raises(CodescalerError, match="no feedback pairs"):
        mix(pairs(3, 0), None, 0, feedback_share=0.5)
