"""Replace the brackets and quotes the editor closed automatically instead of doubling them.

Typing `print(` or `"` makes the editor insert the closing `)` or `"` right of the cursor. The model,
which writes the whole call, ends its completion with that same `)`; inserted as is, the line reads
`print("hi"))`, the duplicate-bracket complaint every completion engine hears. When the rest of the cursor
line is made only of closing characters (`)`, `]`, `}`, quotes, and `;`, spaces between them allowed), and
the completion ends with the first of them, `replace_chars` is widened to cover those so the completion's
own closers take their place.

Only closers that close something opened before the cursor count: `foo()` ending in `)` at `print(║)`
closes its own `(`, so nothing is replaced. The range only ever grows, and never past the cursor line.
"""

from __future__ import annotations

from dataclasses import replace

from engine.cleaning.common import CLOSERS, scan_brackets
from engine.document import Completion, DocumentContext

AUTO_CLOSED = frozenset(")]}\"'`;")
_MUST_CLOSE = frozenset(CLOSERS) | frozenset("\"'`")  # `;` is typed, not closed: it needs no partner


def auto_closing(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion with `replace_chars` widened over the auto-closed characters it retypes."""
    line_rest = context.line_suffix
    closing = line_rest.rstrip()
    if not closing or not set(closing) <= AUTO_CLOSED | {" ", "\t"}:
        return completion
    text = completion.text
    in_string = scan_brackets(context.line_prefix, context.language).quote
    outside = set(scan_brackets(text, context.language, quote=in_string).outside)
    for count in range(len(closing), completion.replace_chars, -1):
        if not text.endswith(line_rest[:count]):
            continue
        tail = range(len(text) - count, len(text))
        if all(text[i] not in _MUST_CLOSE or i in outside for i in tail):
            return replace(completion, replace_chars=count)
    return completion
