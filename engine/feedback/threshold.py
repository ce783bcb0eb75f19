"""`codescaler feedback threshold`: the `completion.threshold` the records argue for.

A threshold hides a request's suggestion when its best shown item's reward is under it (the engine's
rule). For each candidate threshold (every distinct best reward among the decided shown requests, and
"none"), replaying the records gives the accepted characters it would have kept and the dismissed
suggestions it would have removed. The recommendation maximises

    removed dismissed share − lost accepted-characters share

(Youden's J over the two kinds of suggestion): a threshold that removes 60% of what users dismissed and
loses 5% of what they took scores 0.55. Ties go to the lower threshold, which hides less.
"""

from __future__ import annotations

from typing import Any

from engine.feedback.records import RequestRecord
from engine.feedback.stats import SHOWN, TAKEN, accepted_chars, top_reward

TABLE_ROWS = 12


def candidates(records: list[RequestRecord]) -> dict[str, Any]:
    """The replay of every candidate threshold, and the best of them."""
    decided = [
        (reward, r)
        for r in records
        if r.outcome in SHOWN and r.outcome != "open" and (reward := top_reward(r)) is not None
    ]
    dismissed_total = sum(r.outcome == "dismissed" for _, r in decided)
    chars_total = sum(accepted_chars(r) for _, r in decided)
    rows = []
    for threshold in [None, *sorted({reward for reward, _ in decided})]:
        kept = [r for reward, r in decided if threshold is None or reward >= threshold]
        kept_chars = sum(accepted_chars(r) for r in kept)
        removed = dismissed_total - sum(r.outcome == "dismissed" for r in kept)
        removed_share = removed / dismissed_total if dismissed_total else 0.0
        lost_share = (chars_total - kept_chars) / chars_total if chars_total else 0.0
        rows.append(
            {
                "threshold": None if threshold is None else round(threshold, 4),
                "kept_accepted_chars": kept_chars,
                "kept_accepted": sum(r.outcome in TAKEN for r in kept),
                "removed_dismissed": removed,
                "removed_dismissed_share": round(removed_share, 4),
                "lost_chars_share": round(lost_share, 4),
                "score": round(removed_share - lost_share, 4),
            }
        )
    best = max(rows, key=lambda row: row["score"]) if rows else None  # max keeps the first (lowest) of ties
    return {
        "decided": len(decided),
        "dismissed": dismissed_total,
        "accepted_chars": chars_total,
        "candidates": rows,
        "best": best,
        "config": None
        if best is None or best["threshold"] is None
        else f"[completion]\nthreshold = {best['threshold']}",
    }


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """At most `TABLE_ROWS` candidates to print: evenly spread, always with "none" and the best."""
    rows = result["candidates"]
    if len(rows) <= TABLE_ROWS:
        return rows
    step = (len(rows) - 1) / (TABLE_ROWS - 1)
    picked = {round(i * step) for i in range(TABLE_ROWS)} | {rows.index(result["best"])}
    return [rows[i] for i in sorted(picked)]
