"""What the cleaning filters share: their signatures, line helpers and a bracket scanner.

The scanner is deliberately rough (one-line strings, line comments, no language-specific literals): the
filters use it only to avoid cutting a bracket the completion itself opened, so when it is unsure the
filters leave the completion alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from engine.document import Completion, DocumentContext

ItemFilter: TypeAlias = Callable[[Completion, DocumentContext], Completion | None]
ListFilter: TypeAlias = Callable[[list[Completion], DocumentContext], list[Completion]]

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {close: open_ for open_, close in OPENERS.items()}

_LINE_COMMENT = {"python": "#"}
_QUOTES_BY_LANGUAGE = {"rust": '"'}  # a Rust `'` is as often a lifetime as a char literal
_QUOTES = "\"'`"


def leading_whitespace(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def is_blank(text: str) -> bool:
    return not text.strip()


def rest_of_line(completion: Completion, context: DocumentContext) -> str:
    """The cursor line's text that follows the completion once applied (what `replace_chars` spares)."""
    return context.line_suffix[completion.replace_chars :]


def drop_trailing_blank_lines(text: str) -> str:
    """`text` without the whitespace-only lines (and the line break) at its end."""
    lines = text.split("\n")
    while len(lines) > 1 and is_blank(lines[-1]):
        lines.pop()
    return "\n".join(lines)


@dataclass
class BracketScan:
    """What `scan_brackets` found in a piece of code.

    `unclosed`: positions of the brackets and quotes the text opens and never closes. `outside`: positions
    of the closers that close something opened before the text. `quote`: the string the text ends inside.
    """

    unclosed: list[int] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    quote: str | None = None


def scan_brackets(text: str, language: str | None = None, quote: str | None = None) -> BracketScan:
    """Match brackets and quotes in `text`, which starts inside a `quote` string when one is given.

    Strings end at a line break (except backtick strings), and line comments (`#` in Python, `//`
    elsewhere) are skipped.
    """
    comment = _LINE_COMMENT.get(language, "//") if language else None
    quotes = _QUOTES_BY_LANGUAGE.get(language or "", _QUOTES)
    result = BracketScan(quote=quote)
    stack: list[tuple[str, int]] = []
    string_start: int | None = None  # where a string opened in `text` started; None if opened before it
    i = 0
    while i < len(text):
        char = text[i]
        if result.quote is not None:
            if char == "\\":
                i += 2
                continue
            if char == result.quote or (char == "\n" and result.quote != "`"):
                if char != "\n" and string_start is None:
                    result.outside.append(i)
                result.quote, string_start = None, None
        elif comment and text.startswith(comment, i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in quotes:
            result.quote, string_start = char, i
        elif char in OPENERS:
            stack.append((char, i))
        elif char in CLOSERS:
            if stack and stack[-1][0] == CLOSERS[char]:
                stack.pop()
            else:
                result.outside.append(i)
        i += 1
    result.unclosed = [position for _, position in stack]
    if result.quote is not None and string_start is not None:
        result.unclosed.append(string_start)
    return result
