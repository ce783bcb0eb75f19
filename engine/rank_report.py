"""How `codescaler rank` shows a result to a person: counts first, valid suggestions only (`--all` adds the
invalid ones with their reason), each as the completed line(s) with the inserted text marked, and a reason
in words when there is nothing to show. `--json` is the engine protocol's result with 1-based positions
named as such.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine.document import DocumentContext
from engine.protocol import RankResult, ScoredCompletion

OPEN, CLOSE = "⟦", "⟧"  # around the inserted text: what the suggestion adds to the line
DROP_WORDS = {"duplicate": "duplicates", "dedupe": "duplicates", "below_threshold": "below the threshold"}


def shown(item: ScoredCompletion) -> bool:
    """A suggestion worth showing: valid (or unchecked) and not blank."""
    return item.valid is not False and bool(item.text.strip())


def ordered(result: RankResult, everything: bool) -> list[ScoredCompletion]:
    """Valid suggestions in rank order, then (with `everything`) the rest, invalid last."""
    good = [item for item in result.items if shown(item)]
    return good + ([item for item in result.items if not shown(item)] if everything else [])


def summary(result: RankResult, threshold: float | None, everything: bool = False) -> str:
    """`8 sampled · dropped: 2 duplicates, 1 near empty · ranked: 3 valid, 2 invalid`, and the threshold."""
    dropped: dict[str, int] = {}
    for name, count in result.dropped.items():
        if count:
            words = DROP_WORDS.get(name, name.replace("_", " "))
            dropped[words] = dropped.get(words, 0) + count
    valid = sum(shown(item) for item in result.items)
    parts = [f"{result.generated} sampled"]
    if dropped:
        parts.append("dropped: " + ", ".join(f"{count} {words}" for words, count in dropped.items()))
    ranked = f"ranked: {valid} valid"
    if len(result.items) > valid:
        ranked += f", {len(result.items) - valid} invalid" + ("" if everything else " (--all shows them)")
    parts.append(ranked)
    if threshold is not None:
        parts.append(f"threshold {threshold:g}")
    return " · ".join(parts)


def nothing_to_show(result: RankResult, threshold: float | None) -> str:
    """Why there is no suggestion, in words."""
    if result.generated == 0:
        return "no valid suggestion: the policy returned no samples"
    below = result.dropped.get("below_threshold", 0)
    if below and threshold is not None:
        return (f"no valid suggestion: {below} candidate(s) scored below the threshold {threshold:g} "
                "(see 'Reading the numbers' in README.md)")  # fmt: skip
    if result.items:
        return f"no valid suggestion: all {len(result.items)} candidate(s) break the syntax or are empty"
    return f"no valid suggestion: cleaning dropped all {result.generated} samples"


def in_context(context: DocumentContext | None, item: ScoredCompletion) -> list[str]:
    """The lines the suggestion makes, numbered (1-based) and with the inserted text marked; a problem's
    solution is shown as it is."""
    if context is None:
        return item.text.split("\n")
    line, _ = context.position()
    rest = context.line_suffix[item.replace_chars :]
    lines = (context.line_prefix + OPEN + item.text + CLOSE + rest).split("\n")
    width = len(str(line + len(lines)))
    return [f"{line + 1 + i:>{width}} | {text}" for i, text in enumerate(lines)]


def as_json(result: RankResult, context: DocumentContext | None, everything: bool = True) -> dict[str, Any]:
    """The engine protocol's result (every candidate, valid first) plus, at a cursor, where each item goes
    as 1-based `line`/`column` like `--line/--col` (end exclusive)."""
    cursor = None
    if context is not None:
        line, column = context.position()
        cursor = {"line": line + 1, "column": column + 1}
    items = []
    for item in ordered(result, everything):
        row = msgspec.structs.asdict(item)
        if cursor is not None:
            end = {"line": cursor["line"], "column": cursor["column"] + item.replace_chars}
            row["replaces"] = {"start": cursor, "end": end}
        items.append(row)
    return {"cursor": cursor, "items": items, "generated": result.generated, "dropped": result.dropped,
            "line_mode": result.line_mode,
            "context": [msgspec.structs.asdict(use) for use in result.context]}  # fmt: skip
