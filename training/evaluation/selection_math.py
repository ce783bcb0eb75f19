"""Exact expectations for selection from a pool, so reports carry no resampling noise.

For a pool of M candidates, of which a subset of N is drawn uniformly without replacement, a selector that
keeps the highest-scored candidate picks the candidate at score rank r (1 = best) with probability
C(M - r, N - 1) / C(M, N): r must be drawn and the other N - 1 drawn from the M - r ranked below it.
Candidates tied on score share their group's probability evenly (a random tie-break), so a tie group
contributes its probability times its mean correctness. `random` is the pool's mean correctness for every
N, and the oracle is the unbiased pass@N estimator, 1 - C(M - c, N) / C(M, N) for c correct candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from math import comb


def best_of_n_accuracy(scores: Sequence[float], correct: Sequence[bool], n: int) -> float:
    """Expected correctness of the highest-scored of `n` candidates drawn from the pool."""
    m = len(scores)
    if not 1 <= n <= m:
        raise ValueError(f"n={n} must be within 1..{m}")
    order = sorted(range(m), key=lambda i: -scores[i])
    total, rank, draws = 0.0, 1, comb(m, n)
    for _, group in groupby(order, key=lambda i: scores[i]):
        members = list(group)
        mass = sum(comb(m - r, n - 1) for r in range(rank, rank + len(members))) / draws
        total += mass * sum(bool(correct[i]) for i in members) / len(members)
        rank += len(members)
    return total


def pass_at_k(m: int, c: int, k: int) -> float:
    """Unbiased pass@k for c correct of m samples (the oracle selector's accuracy at N = k)."""
    if m - c < k:
        return 1.0
    return 1.0 - comb(m - c, k) / comb(m, k)


def random_accuracy(correct: Sequence[bool]) -> float:
    return sum(map(bool, correct)) / len(correct)
