"""What a selector sees, what it answers, and the exact expected accuracy of its choice from N candidates.

A selector sees a `SelectionTask`: the question and the candidate programs, never the tests (the type has
no field for them). It answers with a `Selection` in one of two shapes, because best-of-N from a random
subset of the pool is computed exactly for both:

* `scores`: a fixed score per candidate; the highest-scored drawn candidate is picked, ties uniformly.
  The expectation is the rank formula of `selection_math.best_of_n_accuracy`.
* `clusters` + `weights`: a vote. Candidates in the same cluster agree (same outputs, same tests passed);
  among the drawn candidates, a cluster's score is its weight times its members drawn, and the pick is
  uniform over the drawn members of the best-scoring clusters. The score depends on which others were
  drawn, so the expectation sums over how many of each cluster were drawn (multivariate hypergeometric),
  exactly while that stays small and from seeded random subsets beyond it (reported as "sampled").
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from math import comb, prod
from typing import Any, Protocol

from training.evaluation.pools import PoolCandidate
from training.evaluation.selection_math import best_of_n_accuracy

EXACT_LIMIT = 20_000  # count vectors enumerated per (problem, N) before sampling instead
SAMPLED_SUBSETS = 4_000


@dataclass(frozen=True)
class SelectionTask:
    task_id: str
    question: str
    entry_point: str
    candidates: tuple[PoolCandidate, ...]


@dataclass(frozen=True)
class Selection:
    scores: tuple[float, ...] | None = None
    clusters: tuple[str, ...] | None = None
    weights: dict[str, float] = field(default_factory=dict)
    no_signal: bool = False  # the selector had nothing to go on for this problem: its pick is a tie

    def to_row(self) -> dict[str, Any]:
        return {"scores": self.scores, "clusters": self.clusters, "weights": self.weights,
                "no_signal": self.no_signal}  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Selection:
        scores, clusters = row.get("scores"), row.get("clusters")
        return cls(
            tuple(scores) if scores is not None else None,
            tuple(clusters) if clusters is not None else None,
            dict(row.get("weights") or {}),
            bool(row.get("no_signal")),
        )


class Selector(Protocol):
    name: str
    executes: bool  # runs candidate code (its latency includes the sandbox)
    note: str  # one line for the report: what it does
    fingerprint: str  # what its answers depend on (models, settings), so cached answers are reused safely

    def select(self, task: SelectionTask) -> Selection: ...


def dense_scores(keys: Sequence[Any]) -> tuple[float, ...]:
    """Sortable keys (tuples for lexicographic orders) as float scores with the same order and ties."""
    order = {key: float(rank) for rank, key in enumerate(sorted(set(keys)))}
    return tuple(order[key] for key in keys)


def expected_accuracy(selection: Selection, correct: Sequence[bool], n: int, seed: str) -> tuple[float, str]:
    """Expected correctness of the selector's pick from `n` candidates drawn uniformly from the pool, and
    "exact" or "sampled"."""
    if selection.scores is not None:
        return best_of_n_accuracy(selection.scores, correct, n), "exact"
    if selection.clusters is None:
        raise ValueError("a selection needs scores or clusters")
    return _vote_accuracy(selection.clusters, selection.weights, correct, n, seed)


def _vote_accuracy(
    clusters: Sequence[str], weights: dict[str, float], correct: Sequence[bool], n: int, seed: str
) -> tuple[float, str]:
    members: dict[str, list[bool]] = {}
    for key, ok in zip(clusters, correct, strict=True):
        members.setdefault(key, []).append(bool(ok))
    keys = list(members)
    sizes = [len(members[k]) for k in keys]
    rates = [sum(members[k]) / len(members[k]) for k in keys]
    weight = [float(weights.get(k, 0.0)) for k in keys]
    m = len(clusters)
    if not 1 <= n <= m:
        raise ValueError(f"n={n} must be within 1..{m}")
    if prod(min(s, n) + 1 for s in sizes) <= EXACT_LIMIT:
        draws = comb(m, n)
        total = sum(
            prod(comb(s, d) for s, d in zip(sizes, counts, strict=True))
            / draws
            * _pick(counts, weight, rates)
            for counts in _count_vectors(sizes, n)
        )
        return total, "exact"
    rng = random.Random(seed)
    index = [i for i, s in enumerate(sizes) for _ in range(s)]
    total = 0.0
    for _ in range(SAMPLED_SUBSETS):
        counts = [0] * len(keys)
        for position in rng.sample(range(m), n):
            counts[index[position]] += 1
        total += _pick(counts, weight, rates)
    return total / SAMPLED_SUBSETS, "sampled"


def _count_vectors(sizes: Sequence[int], n: int) -> Iterator[list[int]]:
    """Every way to draw `n` candidates as counts per cluster (cluster k holds sizes[k])."""
    room = [sum(sizes[k:]) for k in range(len(sizes))] + [0]

    def extend(k: int, left: int, counts: list[int]) -> Iterator[list[int]]:
        if k == len(sizes):
            yield counts
            return
        for d in range(max(0, left - room[k + 1]), min(sizes[k], left) + 1):
            yield from extend(k + 1, left - d, [*counts, d])

    yield from extend(0, n, [])


def _pick(counts: Sequence[int], weight: Sequence[float], rates: Sequence[float]) -> float:
    """Expected correctness of the vote's pick given how many of each cluster were drawn."""
    drawn = [k for k, d in enumerate(counts) if d]
    best = max(weight[k] * counts[k] for k in drawn)
    top = [k for k in drawn if weight[k] * counts[k] == best]
    return sum(counts[k] * rates[k] for k in top) / sum(counts[k] for k in top)
