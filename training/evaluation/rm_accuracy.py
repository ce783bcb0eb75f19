"""How well a reward model orders programs: pairwise accuracy on preference pairs, and RM-Bench's code
subset (3 chosen x 3 rejected response styles -> easy / normal / hard accuracy).

RM-Bench styles are ordered concise, detailed, detailed with markdown. Its accuracy matrix holds, for
chosen style i and rejected style j, the share of problems where chosen_i outscores rejected_j. As RM-Bench
defines them: hard = mean of the upper-right triangle (the chosen answer is plainer than the rejected one,
so style pulls the wrong way), normal = the diagonal, easy = the lower-left triangle.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from engine.errors import CodescalerError

STYLES = 3


def bootstrap_interval(hits: Sequence[float], seed: int = 0, rounds: int = 1000) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of `hits`."""
    if not hits:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(hits, k=len(hits))) / len(hits) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def rate(hits: Sequence[float], seed: int = 0) -> dict[str, Any]:
    """The share of hits (None for none) and its 95% bootstrap interval."""
    return {"rate": sum(hits) / len(hits) if hits else None, "interval": list(bootstrap_interval(hits, seed))}


def pairwise_report(scorer: Any, pairs: Sequence[tuple[str, str, str]], seed: int = 0) -> dict[str, Any]:
    """(question, better, worse) triples -> accuracy (ties count as misses), its interval, mean margin."""
    scores = scorer.score([(q, code) for q, pos, neg in pairs for code in (pos, neg)])
    hits = [float(scores[2 * i] > scores[2 * i + 1]) for i in range(len(pairs))]
    margins = [scores[2 * i] - scores[2 * i + 1] for i in range(len(pairs))]
    return {
        "pairs": len(pairs),
        "accuracy": sum(hits) / len(hits) if hits else None,
        "interval": bootstrap_interval(hits, seed),
        "mean_margin": sum(margins) / len(margins) if margins else None,
    }


def rm_bench_report(scorer: Any, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """RM-Bench rows ({prompt, chosen: [3], rejected: [3]}) -> easy / normal / hard accuracy and the matrix."""
    inputs = []
    for number, row in enumerate(rows):
        chosen, rejected = row.get("chosen"), row.get("rejected")
        if not isinstance(row.get("prompt"), str) or not (
            isinstance(chosen, list) and isinstance(rejected, list) and len(chosen) == len(rejected) == STYLES
        ):
            raise CodescalerError(
                f"RM-Bench row {number}: needs 'prompt' and 'chosen'/'rejected' lists of {STYLES} responses"
            )
        inputs += [(row["prompt"], text) for text in [*chosen, *rejected]]
    scores = scorer.score(inputs)
    matrix = [[0.0] * STYLES for _ in range(STYLES)]
    for number in range(len(rows)):
        block = scores[2 * STYLES * number : 2 * STYLES * (number + 1)]
        for i in range(STYLES):
            for j in range(STYLES):
                matrix[i][j] += (block[i] > block[STYLES + j]) / len(rows)
    upper = [matrix[i][j] for i in range(STYLES) for j in range(STYLES) if i < j]
    lower = [matrix[i][j] for i in range(STYLES) for j in range(STYLES) if i > j]
    return {
        "rows": len(rows),
        "easy": sum(lower) / len(lower),
        "normal": sum(matrix[i][i] for i in range(STYLES)) / STYLES,
        "hard": sum(upper) / len(upper),
        "matrix": matrix,
    }
