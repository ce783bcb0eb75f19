"""A document and a cursor: what an editor asks the engine to complete, and what a completion replaces.

Offsets are Python string indices (Unicode code points). The language server converts LSP positions
(utf-8, utf-16 or utf-32, as negotiated) to and from these at its edge, so the engine never deals with
encodings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.errors import CodescalerError
from engine.syntax.languages import language_for_path, resolve_language

if TYPE_CHECKING:
    from engine.protocol import ContextSnippet


@dataclass(frozen=True)
class DocumentContext:
    """The text of a document, the cursor in it, and what it is written in; `repo` is code from the rest
    of the repository that the prompt and the reward input carry (engine/workspace/retrieval.py)."""

    text: str
    offset: int
    language: str | None = None
    path: str | None = None
    repo: tuple[ContextSnippet, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.offset <= len(self.text):
            raise CodescalerError(
                f"cursor offset {self.offset} is outside the document (0..{len(self.text)})"
            )
        language = resolve_language(self.language) or language_for_path(self.path)
        object.__setattr__(self, "language", language)

    @classmethod
    def at_line_col(
        cls,
        text: str,
        line: int,
        col: int,
        language: str | None = None,
        path: str | None = None,
        repo: tuple[ContextSnippet, ...] = (),
    ) -> DocumentContext:
        """The cursor at 0-based `line` and `col` (code points); a column past the line end is an error."""
        lines = text.split("\n")
        if not 0 <= line < len(lines):
            raise CodescalerError(f"line {line + 1} is outside the document (1..{len(lines)})")
        if not 0 <= col <= len(lines[line]):
            raise CodescalerError(f"column {col + 1} is outside line {line + 1} (1..{len(lines[line]) + 1})")
        offset = sum(len(previous) + 1 for previous in lines[:line]) + col
        return cls(text, offset, language, path, repo)

    @classmethod
    def at_marker(
        cls, text: str, marker: str, language: str | None = None, path: str | None = None
    ) -> DocumentContext:
        """The cursor where `marker` stands (the marker itself is removed); it must occur exactly once."""
        count = text.count(marker) if marker else 0
        if count != 1:
            raise CodescalerError(
                f"the cursor marker {marker!r} must occur exactly once in the document, found {count}"
            )
        offset = text.index(marker)
        return cls(text[:offset] + text[offset + len(marker) :], offset, language, path)

    @classmethod
    def from_cursor(
        cls,
        text: str,
        *,
        line: int | None = None,
        col: int | None = None,
        marker: str | None = None,
        language: str | None = None,
        path: str | None = None,
    ) -> DocumentContext:
        """The cursor as a user gives it on a command line: a `marker` in the text, or 1-based `line` and
        `col` (code points)."""
        if marker is not None:
            return cls.at_marker(text, marker, language, path)
        if line is None or col is None:
            raise CodescalerError("give the cursor with --line and --col, or with --marker")
        return cls.at_line_col(text, line - 1, col - 1, language, path)

    def range(self, replace_chars: int = 0) -> dict[str, dict[str, int]]:
        """The LSP-style range (0-based line and code-point character) a completion at the cursor
        replaces: the cursor, widened over `replace_chars` on its line."""
        line, character = self.position()
        return {
            "start": {"line": line, "character": character},
            "end": {"line": line, "character": character + replace_chars},
        }

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]

    @property
    def line_prefix(self) -> str:
        """The cursor line's text left of the cursor."""
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @property
    def line_suffix(self) -> str:
        """The cursor line's text right of the cursor."""
        end = self.suffix.find("\n")
        return self.suffix if end < 0 else self.suffix[:end]

    def position(self, offset: int | None = None) -> tuple[int, int]:
        """0-based (line, column) of `offset` (default: the cursor)."""
        offset = self.offset if offset is None else offset
        before = self.text[:offset]
        return before.count("\n"), offset - (before.rfind("\n") + 1)


@dataclass(frozen=True)
class Completion:
    """One candidate: at a cursor, an insertion; for a problem statement, a whole program.

    `text` goes in at the cursor and replaces the next `replace_chars` characters of the document (a
    widened range over auto-closed brackets, always within the cursor line). `logprobs` are the sampled
    tokens' log-probabilities, when the generator returns them.
    """

    text: str
    replace_chars: int = 0
    logprobs: tuple[float, ...] = field(default=(), repr=False)
    finish_reason: str = "stop"
    index: int = 0

    @property
    def mean_logprob(self) -> float | None:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else None

    def applied_to(self, context: DocumentContext) -> str:
        """The document with this completion inserted."""
        return context.prefix + self.text + context.suffix[self.replace_chars :]


def cut_window(text: str, cursor: int, before: int, after: int) -> tuple[str, int]:
    """`text` cut at line boundaries to about `before` characters before `cursor` and `after` after it,
    and the cursor in the cut: prompts and records use far less than a whole file, and parsing or sending
    a 10 MB document on every keystroke would not do."""
    start = max(0, cursor - before)
    if start > 0:
        start = text.find("\n", start, cursor) + 1 or start
    end = min(len(text), cursor + after)
    if end < len(text):
        cut = text.rfind("\n", cursor, end)
        end = cut if cut >= 0 else end
    return text[start:end], cursor - start
