"""The typed requests and results of the engine: one set of types in process and on the wire.

A rank request (a cursor in a document, or a problem statement), a score request, a cancel, and their
results are `msgspec` structs. The language server, `codescaler rank`, `eval fim` and the engine service
build and pass these objects; `codescaler serve` decodes its websocket frames straight into them and
encodes its answers from them (docs/engine-protocol.md).

Why msgspec: it decodes JSON bytes into these types in one pass and is strict the way a boundary must
be (a bool is not an int, "8" is not 8, `1e999` is out of range), its errors name the field
(`at $.document.offset`), tagged unions dispatch on `type`, and structs are cheap enough to build for
every keystroke in process. The ranges a type cannot say (0 < top_p <= 1, a finite temperature) are
checked in `__post_init__`, which msgspec runs both when code builds an object and when it decodes one:
one validation for every path.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

import msgspec

from engine.document import DocumentContext
from engine.errors import CodescalerError

LineMode = Literal["auto", "single", "multi"]
ShapingMode = Literal["softplus", "raw"]
LINE_MODES: tuple[str, ...] = get_args(LineMode)
SHAPING_MODES: tuple[str, ...] = get_args(ShapingMode)
RequestId = str | int | float  # JSON-RPC's rule: a string or a number
MAX_TEMPERATURE = 100.0  # above this, sampling is uniform noise (and float32 logits overflow)
SEED_RANGE = (0, 2**64 - 1)  # what torch and vLLM seed generators take
FeedbackEvent = Literal["shown", "accepted", "partial", "dismissed"]
FEEDBACK_EVENTS: tuple[str, ...] = get_args(FeedbackEvent)
MAX_REF_CHARS = 200
MAX_CONTEXT_SHARE = 0.9  # the file being completed keeps at least a tenth of the prefix budget


class RequestError(CodescalerError):
    """A request that breaks the protocol's rules; the message names the field."""


def _at_least(name: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")


def _finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")


class RankOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Knobs of one best-of-N request; the defaults are the product's completion defaults."""

    n: int = 8
    max_new_tokens: int = 64
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int | None = None
    top_k: int | None = None
    threshold: float | None = None
    line_mode: str = "auto"  # a LineMode; checked below for an error that lists the choices
    shaping: str = "softplus"  # a ShapingMode
    # At most this share of the prompt's prefix tokens goes to repository context (document.context).
    context_share: float = 0.25

    def __post_init__(self) -> None:
        _at_least("n", self.n, 1)
        _finite("context_share", self.context_share)
        if not 0 <= self.context_share <= MAX_CONTEXT_SHARE:
            raise ValueError(f"context_share must be within 0..{MAX_CONTEXT_SHARE}, not {self.context_share}")
        _at_least("max_new_tokens", self.max_new_tokens, 1)
        _at_least("top_k", self.top_k, 1)
        _finite("temperature", self.temperature)
        if not 0 <= self.temperature <= MAX_TEMPERATURE:
            raise ValueError(f"temperature must be within 0..{MAX_TEMPERATURE:g}, not {self.temperature}")
        _finite("top_p", self.top_p)
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be above 0 and at most 1, not {self.top_p}")
        _finite("threshold", self.threshold)
        for name, value, choices in (
            ("line_mode", self.line_mode, LINE_MODES),
            ("shaping", self.shaping, SHAPING_MODES),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        if self.seed is not None and not SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]:
            raise ValueError(f"seed must be a 64-bit unsigned integer (0..2**64-1), not {self.seed}")


class ContextSnippet(msgspec.Struct, frozen=True, kw_only=True):
    """Code from elsewhere in the repository for a request: a `definition` (its signature and docstring)
    or a `similar` window, from `path` (relative to the workspace), starting at 0-based `line`."""

    path: str
    text: str
    symbol: str | None = None
    kind: str = "definition"
    line: int = 0


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """A document and its cursor as a request carries them: `offset` (code points into `text`) or
    `line` + `character` (0-based, code points)."""

    text: str
    offset: int | None = None
    line: int | None = None
    character: int | None = None
    language: str | None = None
    path: str | None = None
    # Repository context the client gathered (engine/workspace/retrieval.py): the policy's prompt and the
    # reward model's question carry it (docs/repository-context.md).
    context: list[ContextSnippet] | None = None

    def __post_init__(self) -> None:
        if self.offset is None and (self.line is None or self.character is None):
            raise ValueError("document needs 'offset', or 'line' and 'character'")

    @classmethod
    def at(cls, context: DocumentContext) -> Document:
        return cls(
            text=context.text,
            offset=context.offset,
            language=context.language,
            path=context.path,
            context=list(context.repo) or None,
        )

    def cursor_context(self) -> DocumentContext:
        """The cursor in code points; a cursor outside the text is a `RequestError`."""
        try:
            repo = tuple(self.context or ())
            if self.offset is not None:
                return DocumentContext(self.text, self.offset, self.language, self.path, repo)
            return DocumentContext.at_line_col(
                self.text,
                self.line,  # type: ignore[arg-type]
                self.character,  # type: ignore[arg-type]
                self.language,
                self.path,
                repo,
            )
        except CodescalerError as exc:
            raise RequestError(str(exc)) from exc


class RankRequest(RankOptions, frozen=True, kw_only=True, tag="rank", tag_field="type"):
    """Best-of-N at a cursor (`document`) or for a problem statement (`problem`, in `language`).

    It is a `RankOptions`, so the engine reads its knobs straight from it. `id` is the wire's request id
    (None in process)."""

    id: RequestId | None = None
    document: Document | None = None
    problem: str | None = None
    language: str | None = None
    # The client's lasting name for this request, which its feedback reports use (the language server's
    # request id): an engine recording feedback files the request under it.
    ref: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ref is not None and not 0 < len(self.ref) <= MAX_REF_CHARS:
            raise ValueError(f"ref must be 1 to {MAX_REF_CHARS} characters")
        if (self.document is None) == (self.problem is None):
            raise ValueError("a rank request needs exactly one of 'document' or 'problem'")
        if self.problem is not None and not self.problem.strip():
            raise ValueError("problem must not be empty: give the problem statement")

    @classmethod
    def of(cls, options: RankOptions, **fields: Any) -> RankRequest:
        """A request with `options`' knobs and `fields` (document or problem, language, id); a
        `RequestError` naming the field when they break a rule."""
        try:
            return cls(**msgspec.structs.asdict(options), **fields)
        except ValueError as exc:
            raise RequestError(f"invalid request: {exc}") from exc


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A program to score; `language` as given (resolved later), None when unknown."""

    code: str
    language: str | None = None


class ScoreRequest(msgspec.Struct, frozen=True, kw_only=True, tag="score", tag_field="type"):
    """Score, shape and rank given programs for one question."""

    question: str
    candidates: list[Candidate]
    id: RequestId | None = None


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True, tag="cancel", tag_field="type"):
    """Stop request `id` (an unknown id is ignored)."""

    id: RequestId


class FeedbackReport(msgspec.Struct, frozen=True, kw_only=True, tag="feedback", tag_field="type"):
    """What became of a ranked request's item, from the client (`request` is the rank request's `ref`).
    Not answered: a report is worth nothing to wait for."""

    request: str
    event: str  # a FeedbackEvent; checked below for an error that lists the choices
    rank: int | None = None
    chars: int | None = None

    def __post_init__(self) -> None:
        if self.event not in FEEDBACK_EVENTS:
            raise ValueError(f"event must be one of {', '.join(FEEDBACK_EVENTS)}, not {self.event!r}")
        _at_least("rank", self.rank, 1)
        _at_least("chars", self.chars, 0)
        if not 0 < len(self.request) <= MAX_REF_CHARS:
            raise ValueError(f"request must be 1 to {MAX_REF_CHARS} characters")


Request = RankRequest | ScoreRequest | CancelRequest | FeedbackReport


class ScoredCompletion(msgspec.Struct, frozen=True, kw_only=True):
    """A completion (or a problem's solution) with everything the ranking used, and its place
    (1 = best). `sample` is the policy sample it came from (the lowest, when cleaning merged duplicates),
    so evaluations can compare the ranking with taking the first sample; `replace_chars` is how many
    characters after the cursor it replaces."""

    text: str
    valid: bool | None
    reason: str
    score: float | None
    reward: float
    mean_logprob: float | None
    rank: int = 0
    replace_chars: int = 0
    sample: int = 0


class ScoredCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A candidate after validity checking, scoring, shaping and ranking; the `*_chars_cut` fields say
    what the reward model's token budget cut from its input."""

    code: str
    language: str | None
    valid: bool | None
    reason: str
    score: float | None
    reward: float
    rank: int
    question_chars_cut: int = 0
    code_chars_cut: int = 0


class ContextUse(msgspec.Struct, frozen=True, kw_only=True):
    """A repository snippet a request's prompt carried: where it came from, not its text."""

    path: str
    symbol: str | None = None
    kind: str = "definition"
    line: int = 0


class RankResult(msgspec.Struct, kw_only=True):
    """Ranked completions, where the time went, what the cleaning dropped, the line mode used, and the
    repository context the prompt carried."""

    items: list[ScoredCompletion]
    timings: dict[str, float] = msgspec.field(default_factory=dict)
    dropped: dict[str, int] = msgspec.field(default_factory=dict)
    generated: int = 0
    line_mode: str | None = None
    context: list[ContextUse] = msgspec.field(default_factory=list)


class ScoreResult(msgspec.Struct, kw_only=True):
    """Scored candidates, in the request's order."""

    items: list[ScoredCandidate]


def field_error(error: msgspec.ValidationError | ValueError) -> str:
    """One line that starts with the field: msgspec ends its messages `- at $.document.offset`, and our
    own checks name the field first."""
    text = str(error)
    if " - at `$." in text:
        message, _, where = text.rpartition(" - at `$.")
        return f"{where.rstrip('`')}: {message[0].lower()}{message[1:]}"
    return text


def checked(value: Any, kind: Any, what: str = "request") -> Any:
    """`value` (built-in JSON types) as `kind`, or a `RequestError` naming the field."""
    try:
        return msgspec.convert(value, kind)
    except (msgspec.ValidationError, ValueError) as exc:
        raise RequestError(f"invalid {what}: {field_error(exc)}") from exc
