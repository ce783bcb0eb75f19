"""Best-of-N expectations: the vote formula against brute-force enumeration of every subset, the sampled
fallback against the exact value, and the score formula through the same entry point."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from training.evaluation import selection
from training.evaluation.selection import Selection, dense_scores, expected_accuracy


def brute_force_vote(clusters, weights, correct, n):
    """Average, over every subset of n candidates, of the vote's expected pick (uniform over the drawn
    members of the best clusters)."""
    total, subsets = 0.0, 0
    for subset in combinations(range(len(clusters)), n):
        drawn: dict[str, list[int]] = {}
        for i in subset:
            drawn.setdefault(clusters[i], []).append(i)
        best = max(weights.get(k, 0.0) * len(v) for k, v in drawn.items())
        winners = [i for k, v in drawn.items() if weights.get(k, 0.0) * len(v) == best for i in v]
        total += sum(correct[i] for i in winners) / len(winners)
        subsets += 1
    return total / subsets


def brute_force_scores(scores, correct, n):
    total, subsets = 0.0, 0
    for subset in combinations(range(len(scores)), n):
        best = max(scores[i] for i in subset)
        winners = [i for i in subset if scores[i] == best]
        total += sum(correct[i] for i in winners) / len(winners)
        subsets += 1
    return total / subsets


@pytest.mark.parametrize("seed", range(25))
def test_vote_formula_matches_enumeration(seed):
    rng = random.Random(seed)
    m = rng.randint(1, 9)
    clusters = tuple(rng.choice("abcd") for _ in range(m))
    weights = {k: float(rng.choice([0, 1, 2, 3])) for k in "abcd"}
    correct = [rng.random() < 0.4 for _ in range(m)]
    for n in range(1, m + 1):
        got, method = expected_accuracy(Selection(clusters=clusters, weights=weights), correct, n, "s")
        assert method == "exact"
        assert got == pytest.approx(brute_force_vote(clusters, weights, correct, n), abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_score_selection_matches_enumeration(seed):
    rng = random.Random(seed)
    m = rng.randint(1, 8)
    scores = tuple(float(rng.randint(0, 3)) for _ in range(m))
    correct = [rng.random() < 0.5 for _ in range(m)]
    for n in range(1, m + 1):
        got, _ = expected_accuracy(Selection(scores=scores), correct, n, "s")
        assert got == pytest.approx(brute_force_scores(scores, correct, n), abs=1e-12)


def test_large_votes_are_sampled_close_to_exact_and_reproducible(monkeypatch):
    clusters = tuple("abcdefgh"[i % 8] for i in range(16))
    weights = {k: 1.0 for k in "abcdefgh"}
    correct = [i % 3 == 0 for i in range(16)]
    exact, method = expected_accuracy(Selection(clusters=clusters, weights=weights), correct, 6, "s")
    assert method == "exact"
    monkeypatch.setattr(selection, "EXACT_LIMIT", 1)
    sampled, method = expected_accuracy(Selection(clusters=clusters, weights=weights), correct, 6, "s")
    assert method == "sampled"
    assert sampled == pytest.approx(exact, abs=0.03)
    again, _ = expected_accuracy(Selection(clusters=clusters, weights=weights), correct, 6, "s")
    assert again == sampled


def test_dense_scores_keep_lexicographic_order_and_ties():
    keys = [(1, 0.5), (0, 9.0), (1, 0.5), (2, -1.0)]
    assert dense_scores(keys) == (1.0, 0.0, 1.0, 2.0)


def test_selection_rows_round_trip():
    one = Selection(clusters=("a", "b"), weights={"a": 2.0}, no_signal=True)
    assert Selection.from_row(one.to_row()) == one
    two = Selection(scores=(0.5, 1.0))
    assert Selection.from_row(two.to_row()) == two
