"""Cut the end of a completion that repeats the lines below the cursor.

Models see the code after the cursor and often finish their insertion by writing it out again: the
closing `}` of the block, the `return` that already follows. Accepted, that code is doubled, the most
common complaint about fill-in-the-middle completions. This filter compares the completion's last
non-blank lines (the first one behind the cursor line's text) with the first non-blank lines below the
cursor line, all stripped of indentation and trailing spaces; when the completion ends with the start of the suffix, that
repeated tail is cut. A completion that was nothing but the repeat is dropped.

A tail that closes a bracket the rest of the completion opened (`if (x) {` ... `}` before a document `}`)
is not cut: that would unbalance the completion, so the repeat is taken to be a coincidence (a shorter
repeated tail may still be cut).
"""

from __future__ import annotations

from dataclasses import replace

from engine.cleaning.common import drop_trailing_blank_lines, is_blank, scan_brackets
from engine.document import Completion, DocumentContext

_LOOK_BELOW = 20  # suffix lines compared at most


def suffix_repeat(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion without a tail that repeats the suffix; None if only the repeat was left."""
    below = _lines_below(context)
    if not below:
        return completion
    lines = completion.text.split("\n")
    shown = [context.line_prefix + lines[0], *lines[1:]]
    non_blank = [index for index, line in enumerate(shown) if not is_blank(line)]
    for size in range(min(len(non_blank), len(below)), 0, -1):
        tail = non_blank[-size:]
        if [shown[index].strip() for index in tail] == below[:size]:
            kept = drop_trailing_blank_lines("\n".join(lines[: tail[0]]))
            if _closes_own_brackets(kept, completion.text, context.language):
                continue
            return None if is_blank(kept) else replace(completion, text=kept)
    return completion


def _lines_below(context: DocumentContext) -> list[str]:
    """The first non-blank lines after the cursor line, stripped."""
    line_break = context.suffix.find("\n")
    if line_break < 0:
        return []
    below = (line.strip() for line in context.suffix[line_break + 1 :].split("\n"))
    return [line for line in below if line][:_LOOK_BELOW]


def _closes_own_brackets(kept: str, text: str, language: str | None) -> bool:
    """Whether the cut-off tail closes brackets that `kept` opens."""
    return len(scan_brackets(kept, language).unclosed) > len(scan_brackets(text, language).unclosed)
