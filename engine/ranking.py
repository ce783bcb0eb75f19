"""Ranking of scored candidates: what the user sees first, and whether they see anything.

One order for everything the engine ranks (`score`'s programs, `rank`'s completions, evaluations): shaped
reward (validity first, then the reward model), then mean token log-probability (the policy's own
confidence, when there is one), then shorter text (less to review, less to go wrong), then input order.
Completions that read the same after normalisation are shown once, and an optional threshold suppresses
everything below it: no suggestion is better than a bad one.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from engine.protocol import ScoredCompletion


def best_first(
    rewards: Sequence[float],
    mean_logprobs: Sequence[float | None] | None = None,
    lengths: Sequence[int] | None = None,
) -> list[int]:
    """Indices from best to worst; ties go to the higher mean logprob, then the shorter, then the earlier."""
    no_logprob = float("-inf")
    return sorted(
        range(len(rewards)),
        key=lambda i: (
            -rewards[i],
            -(no_logprob if mean_logprobs is None or mean_logprobs[i] is None else mean_logprobs[i]),
            0 if lengths is None else lengths[i],
            i,
        ),
    )


def ranks(rewards: Sequence[float]) -> list[int]:
    """1-based rank of each reward in input order (1 = best); ties ranked by input order."""
    result = [0] * len(rewards)
    for position, index in enumerate(best_first(rewards), start=1):
        result[index] = position
    return result


def normalised(text: str) -> str:
    """The text with trailing spaces on each line and trailing blank lines ignored."""
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def rank_completions(
    items: Sequence[ScoredCompletion],
    top_k: int | None = None,
    threshold: float | None = None,
    dropped: dict[str, int] | None = None,
) -> list[ScoredCompletion]:
    """Best first, deduplicated, at most `top_k`, none with reward below `threshold`; ranks assigned.
    `dropped` counts what was left out and why (`duplicate`, `below_threshold`), so a user is told."""
    counts = dropped if dropped is not None else {}
    order = best_first(
        [item.reward for item in items], [item.mean_logprob for item in items], [len(i.text) for i in items]
    )
    seen: set[tuple[str, int]] = set()
    ranked: list[ScoredCompletion] = []
    for i in order:
        item = items[i]
        key = (normalised(item.text), item.replace_chars)
        if key in seen or (threshold is not None and item.reward < threshold):
            reason = "duplicate" if key in seen else "invalid" if item.valid is False else "below_threshold"
            counts[reason] = counts.get(reason, 0) + 1
            continue
        seen.add(key)
        ranked.append(msgspec.structs.replace(item, rank=len(ranked) + 1))
        if top_k is not None and len(ranked) == top_k:
            break
    return ranked
