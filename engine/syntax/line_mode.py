"""Single-line or multi-line completion at a cursor, decided from the syntax tree.

Users dislike long multi-line suggestions where one line was wanted (the top complaint after latency),
and want a whole body when they open a block. The rule, after the best completion systems:

* real code right of the cursor -> single line (closing brackets and quotes do not count: they are
  auto-closed text the completion may replace);
* the last token before the cursor opens a block (`:` of a Python compound statement, `{`, `=>`) ->
  multi-line; the token is found in the tree-sitter tree, so a `:` inside a dict or a slice does not count;
* a blank line with nothing but whitespace after it (the end of the file) -> multi-line;
* anything else -> single line.
Without a grammar for the language, the last character before the cursor stands in for the token.
"""

from __future__ import annotations

from typing import Literal

from engine.document import DocumentContext
from engine.syntax.languages import LANGUAGES
from engine.syntax.validity import parser

LineMode = Literal["single", "multi"]
AUTO_CLOSED = ")]}>\"'`;, \t"
_OPENER_PARENT_SUFFIXES = ("_definition", "_statement", "_clause")


def _opens_block(context: DocumentContext, before: str) -> bool:
    """Whether the last non-blank token before the cursor opens a block."""
    if context.language not in LANGUAGES:
        return before.endswith((":", "{", "=>"))
    data = (before + context.text[len(before) :]).encode("utf-8")
    end = len(before.encode("utf-8"))
    tree = parser(context.language).parse(data)
    leaf = tree.root_node.descendant_for_byte_range(end - 1, end)
    if leaf is None:
        return False
    if leaf.type == ":":
        parent = leaf.parent
        if parent is not None and parent.type == "ERROR":  # a broken line: is the ':' inside brackets?
            line = before[before.rfind("\n") + 1 :]
            return sum(line.count(c) for c in "([{") <= sum(line.count(c) for c in ")]}")
        return parent is None or parent.type.endswith(_OPENER_PARENT_SUFFIXES)
    return leaf.type in ("{", "=>")


def line_mode(context: DocumentContext) -> LineMode:
    """How many lines a completion at this cursor should have (see the module docstring)."""
    if context.line_suffix.strip(AUTO_CLOSED):
        return "single"
    before = context.prefix.rstrip()
    if not before or _opens_block(context, before):
        return "multi"
    blank_line = not context.line_prefix.strip() and not context.line_suffix.strip()
    return "multi" if blank_line and not context.suffix.strip() else "single"
