"""Ranking of scored candidates: what the user sees first, and whether they see anything.

Order: shaped reward (validity first, then the reward model), then mean token log-probability (the
policy's own confidence), then shorter text (less to review, less to go wrong). Candidates that read the
same after normalisation are shown once. An optional threshold suppresses everything below it: no
suggestion is better than a bad one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RankedItem:
    """A candidate with everything the ranking used, and its place (1 = best). `sample` is the index of the
    policy sample it came from (the lowest, when cleaning merged duplicates), so evaluations can compare the
    ranking with taking the first sample."""

    text: str
    valid: bool | None
    reason: str
    score: float | None
    reward: float
    mean_logprob: float | None
    rank: int = 0
    replace_chars: int = 0
    sample: int = 0


def normalised(text: str) -> str:
    """The text with trailing spaces on each line and trailing blank lines ignored."""
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def rank_items(
    items: Sequence[RankedItem], top_k: int | None = None, threshold: float | None = None
) -> list[RankedItem]:
    """Best first, deduplicated, at most `top_k`, none with reward below `threshold`; ranks assigned."""
    order = sorted(
        range(len(items)),
        key=lambda i: (
            -items[i].reward,
            -(items[i].mean_logprob if items[i].mean_logprob is not None else float("-inf")),
            len(items[i].text),
            i,
        ),
    )
    seen: set[tuple[str, int]] = set()
    ranked: list[RankedItem] = []
    for i in order:
        item = items[i]
        key = (normalised(item.text), item.replace_chars)
        if key in seen or (threshold is not None and item.reward < threshold):
            continue
        seen.add(key)
        ranked.append(replace(item, rank=len(ranked) + 1))
        if top_k is not None and len(ranked) == top_k:
            break
    return ranked
