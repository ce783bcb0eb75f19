"""Remove candidates that would produce the same document.

Sampling N completions yields the same suggestion several times, differing only in a trailing newline,
trailing spaces, or in whether the closing `)` is typed by the completion or kept from the document.
Duplicates waste reward-model calls and, shown in a cycle of suggestions, make users page through the
same text. Two candidates are duplicates when the text from the cursor to the end of the line where the
completion ends, as it reads once applied, is the same after removing trailing whitespace on each line and
trailing blank lines. The first of them (lowest `index`) is kept; survivors keep their input order.
"""

from __future__ import annotations

from engine.cleaning.common import drop_trailing_blank_lines
from engine.document import Completion, DocumentContext


def dedupe(completions: list[Completion], context: DocumentContext) -> list[Completion]:
    """`completions` without duplicates, the lowest index of each kept, in input order."""
    first: dict[str, int] = {}  # key -> position in `completions` of the one kept
    for position, completion in enumerate(completions):
        key = inserted_region(completion, context)
        if key not in first or completion.index < completions[first[key]].index:
            first[key] = position
    kept = set(first.values())
    return [completion for position, completion in enumerate(completions) if position in kept]


def inserted_region(completion: Completion, context: DocumentContext) -> str:
    """The normalised text from the cursor to the end of the completion's last line, once applied."""
    rest = context.suffix[completion.replace_chars :]
    line_end = rest.find("\n")
    region = completion.text + (rest if line_end < 0 else rest[:line_end])
    lines = [line.rstrip() for line in drop_trailing_blank_lines(region).split("\n")]
    return "\n".join(lines)
