"""`codescaler feedback pairs`: what users accepted over what they passed over, as reward-model pairs.

The rule (docs/feedback.md):
* a request gives pairs when one item was taken and other items were shown with it (an invoked inline
  request's alternatives, a completion list); an automatic inline request shows one item and gives none;
* an accept takes the whole item; a partial accept counts when at least `partial_min` (0.5) of the
  item's characters were taken, and then the chosen text is the part taken — what landed in the file;
* each other shown item is a rejected side, unless its code unit is the chosen one's, or (for a partial
  accept) it begins with the taken part — it agreed with what the user kept;
* dismissed, superseded and empty requests, and requests stored without their texts
  (`feedback.store_text` off), give none; `min_gap` keeps only pairs whose shaped rewards differ by at
  least that much.
Rows are built by `editor_reward_pair` for the request's document and cursor, so the question and the
two code units are exactly what the reward model read when it ranked them; the question is the chosen
item's, as `curate --fim` does.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.errors import CodescalerError
from engine.feedback.records import RequestRecord, ShownItem
from engine.feedback.stats import TAKEN


def _taken(record: RequestRecord, partial_min: float) -> tuple[ShownItem, str] | None:
    item = next((item for item in record.items if item.rank == record.accepted_rank), None)
    if item is None or item.text is None:
        return None
    if record.outcome == "accepted":
        return item, item.text
    chars = min(record.accepted_chars or 0, len(item.text))
    if chars < partial_min * len(item.text) or chars == 0:
        return None
    return item, item.text[:chars]


def request_pairs(
    record: RequestRecord, min_gap: float = 0.0, partial_min: float = 0.5
) -> tuple[list[dict[str, Any]], str]:
    """The pair rows of one request, and what happened to it (a `skipped` reason, or "paired")."""
    if record.outcome not in TAKEN:
        return [], record.outcome
    if record.document is None or record.cursor is None or any(item.text is None for item in record.items):
        return [], "no_text"
    taken = _taken(record, partial_min)
    if taken is None:
        return [], "partial_too_short"
    chosen_item, chosen_text = taken
    repo = tuple(record.context or ())
    context = DocumentContext(record.document, record.cursor, record.language, record.path, repo)
    question, chosen = editor_reward_pair(context, Completion(chosen_text, chosen_item.replace_chars))
    rows = []
    for item in record.items:
        text = item.text or ""
        if item.rank == chosen_item.rank or (record.outcome == "partial" and text.startswith(chosen_text)):
            continue
        if abs(chosen_item.reward - item.reward) < min_gap:
            continue
        _, rejected = editor_reward_pair(context, Completion(text, item.replace_chars))
        if rejected == chosen:
            continue
        rows.append(
            {
                "question": question,
                "chosen": chosen,
                "rejected": rejected,
                "kind": "feedback",
                "request": record.id,
                "time": datetime.fromtimestamp(record.time, UTC).isoformat(timespec="seconds"),
                "outcome": record.outcome,
                "language": context.language,
                "chosen_rank": chosen_item.rank,
                "rejected_rank": item.rank,
                "chosen_reward": chosen_item.reward,
                "rejected_reward": item.reward,
            }
        )
    return rows, "paired" if rows else "single_item"


def feedback_pairs(
    records: list[RequestRecord], min_gap: float = 0.0, partial_min: float = 0.5
) -> tuple[list[dict[str, Any]], Counter]:
    """All pair rows, oldest request first, and how many requests ended each way."""
    if min_gap < 0:
        raise CodescalerError(f"--min-gap must not be negative, not {min_gap}")
    if not 0 < partial_min <= 1:
        raise CodescalerError(f"--partial-min must be above 0 and at most 1, not {partial_min}")
    rows: list[dict[str, Any]] = []
    reasons: Counter = Counter()
    for record in records:
        made, reason = request_pairs(record, min_gap, partial_min)
        rows.extend(made)
        reasons[reason] += 1
    return rows, reasons
