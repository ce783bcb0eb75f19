"""The feedback records: one per completion request, then events that settle its outcome.

A request record is written when the request is answered (or superseded, or had nothing to show); the
editor's reports arrive later as events against its id. Outcomes, and what moves a request between them:

* `open` — items reached the editor and nothing is known yet (stays so when a client cannot report, or
  the session ended first: "no outcome reported");
* `accepted` — the client ran `codescaler.accepted` for one item (all of its characters);
* `partial` — `textDocument/didPartiallyAcceptCompletion` for one item, the most characters reported;
  a later full accept makes it `accepted`;
* `dismissed` — a newer request of the same kind (inline or list) came for the document while the
  request was `open`: the user went on without taking anything. An accept that arrives after that (an
  editor may insert the text, trigger the next request, then run the command) still wins;
* `superseded` — a newer request cancelled this one before it answered: nothing reached the editor;
* `empty` — the engine had nothing to show (no valid candidate, or all under the threshold);
* `failed` — the engine failed (the error is in the server log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

import msgspec

from engine.document import cut_window
from engine.protocol import ContextSnippet, ContextUse, FeedbackEvent, ScoredCompletion

Outcome = Literal["open", "accepted", "partial", "dismissed", "superseded", "empty", "failed"]
# What a record keeps of a document: enough for the reward model's input (60 lines before the code unit,
# 20 after), far less than the engine's window.
STORED_BEFORE_CHARS = 8_000
STORED_AFTER_CHARS = 2_000


class ShownItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item the editor got: its place, its scores, and its text when texts are stored."""

    rank: int
    length: int
    reward: float
    score: float | None
    valid: bool | None
    text: str | None = None
    replace_chars: int = 0
    shown: bool = False  # the client reported showing it (textDocument/didShowCompletion)


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One completion request. `document`/`cursor` are the window the engine saw (None unless texts are
    stored, like `path`); latencies are milliseconds (`engine_ms` excludes the debounce, `total_ms` the whole path)."""

    id: str
    session: str
    time: float
    source: str  # "lsp" or "serve"
    feature: str  # "inline", "completion" or "rank"
    outcome: Outcome
    language: str | None = None
    path_hash: str | None = None
    line_mode: str | None = None
    policy: str | None = None
    reward_model: str | None = None
    total_ms: float | None = None
    engine_ms: float | None = None
    generate_ms: float | None = None
    score_ms: float | None = None
    cache: str | None = None
    path: str | None = None  # the file's path, stored with the texts (the reward input names it)
    document: str | None = None
    cursor: int | None = None
    items: list[ShownItem] = msgspec.field(default_factory=list)
    context: list[ContextSnippet] | None = None  # the repository context, stored with the texts
    accepted_rank: int | None = None  # set by events, read back from the store
    accepted_chars: int | None = None
    outcome_time: float | None = None


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A report about request `request`: an item shown, accepted (in part), or the request dismissed."""

    request: str
    kind: FeedbackEvent
    time: float
    rank: int | None = None
    chars: int | None = None


def path_hash(path: str) -> str:
    """A stable name for a file that does not show its path (16 hex digits of SHA-256). It hides a path
    from a casual reader, not from someone who can guess paths and hash them: docs/feedback.md says so."""
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def stored_window(text: str, cursor: int) -> tuple[str, int]:
    """The part of a document a record keeps, and the cursor in it."""
    return cut_window(text, cursor, STORED_BEFORE_CHARS, STORED_AFTER_CHARS)


def shown_items(items: Iterable[ScoredCompletion], store_text: bool) -> list[ShownItem]:
    return [
        ShownItem(
            rank=item.rank,
            length=len(item.text),
            reward=item.reward,
            score=item.score,
            valid=item.valid,
            text=item.text if store_text else None,
            replace_chars=item.replace_chars,
        )
        for item in items
    ]


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) * 1000, 3)


def used_context(
    snippets: Iterable[ContextSnippet] | None, uses: Iterable[ContextUse]
) -> list[ContextSnippet] | None:
    """The snippets a prompt really carried (the engine reports which ones fitted), for the record."""
    used = {(use.path, use.line, use.kind) for use in uses}
    kept = [s for s in snippets or () if (s.path, s.line, s.kind) in used]
    return kept or None
