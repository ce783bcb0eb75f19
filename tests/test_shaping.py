import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ranking import best_first, ranks
from engine.shaping import needs_score, shaped_reward, softplus

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@pytest.mark.parametrize("s", [-30.0, -2.5, 0.0, 0.7, 6.54, 30.0])
def test_softplus_matches_the_textbook_formula(s):
    assert softplus(s) == pytest.approx(math.log(1 + math.exp(s)), rel=1e-12)


def test_softplus_is_stable_at_extremes():
    assert softplus(1000.0) == 1000.0
    assert 0 < softplus(-700.0) < 1e-300
    assert softplus(-1000.0) == 0.0  # underflows to 0 gracefully instead of raising


@given(finite, finite)
def test_shaping_preserves_order_among_valid_programs(a, b):
    if a < b:
        assert shaped_reward(a, True) <= shaped_reward(b, True)


@given(finite)
def test_any_valid_program_beats_any_invalid_one(s):
    if s > -700:  # below that softplus underflows to 0.0 in float64
        assert shaped_reward(s, True) > shaped_reward(None, False) == 0.0


def test_invalid_programs_need_no_score():
    assert shaped_reward(None, False) == 0.0
    assert not needs_score(False)
    assert needs_score(True)


def test_valid_program_without_score_is_an_error():
    with pytest.raises(ValueError, match="needs a reward-model score"):
        shaped_reward(None, True)


def test_raw_mode_scores_everything_and_skips_the_gate():
    assert needs_score(False, "raw")
    assert shaped_reward(-3.0, False, "raw") == -3.0
    assert shaped_reward(2.0, True, "raw") == 2.0
    with pytest.raises(ValueError, match="raw shaping"):
        shaped_reward(None, False, "raw")


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="shaping mode"):
        shaped_reward(1.0, True, "sigmoid")  # type: ignore[arg-type]


def test_ranking_is_descending_and_stable_on_ties():
    rewards = [0.5, 2.0, 0.0, 2.0, 0.5]
    assert best_first(rewards) == [1, 3, 0, 4, 2]
    assert ranks(rewards) == [3, 1, 5, 2, 4]
    assert ranks([]) == []
