"""Validity of a completion in place: does inserting it break the document's syntax where it lands?

A FIM completion is not a program on its own, so it is judged inside the document: insert it, re-parse
incrementally (the document's tree is parsed once and shared by all N candidates), and count ERROR and
MISSING nodes in the edited lines. The candidate is invalid when those lines hold more errors than the
same lines did without it, or when the whole document holds more (a stray `}` breaks code further down). Comparing against the document as it stands matters: while a user types, the
cursor line itself is usually broken (`def f(` ...), and a completion that repairs it is good, not bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.document import Completion, DocumentContext
from engine.syntax.validity import SyntaxCheck, parser

if TYPE_CHECKING:
    from tree_sitter import Node, Tree


def count_errors(node: Node, start_byte: int, end_byte: int) -> int:
    """ERROR and MISSING nodes under `node` that overlap [start_byte, end_byte]."""
    if not node.has_error or node.end_byte < start_byte or node.start_byte > end_byte:
        return 0
    own = 1 if node.is_error or node.is_missing else 0
    return own + sum(count_errors(child, start_byte, end_byte) for child in node.children)


def _line_span(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Byte range of the whole lines covering [start, end]."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    return line_start, len(data) if line_end < 0 else line_end


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


@dataclass
class ParsedDocument:
    """A document parsed once, against which many candidate insertions are checked.

    The tree of each edited document is kept, so the reward input (`editor_reward_pair`) reuses it
    instead of parsing the whole document again.
    """

    context: DocumentContext
    data: bytes
    tree: Tree | None
    cursor_byte: int
    _edited: dict[tuple[str, int], Tree] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, context: DocumentContext) -> ParsedDocument:
        data = context.text.encode("utf-8")
        cursor_byte = len(context.prefix.encode("utf-8"))
        tree = parser(context.language).parse(data) if context.language else None
        return cls(context, data, tree, cursor_byte)

    def _span(self, completion: Completion) -> tuple[bytes, int, int, int]:
        """(edited document, edit start, end of the replaced bytes, end of the inserted bytes)."""
        inserted = completion.text.encode("utf-8")
        replaced = len(self.context.suffix[: completion.replace_chars].encode("utf-8"))
        start, old_end = self.cursor_byte, self.cursor_byte + replaced
        return self.data[:start] + inserted + self.data[old_end:], start, old_end, start + len(inserted)

    def insert(self, completion: Completion) -> Tree | None:
        """The tree of the document with `completion` inserted (incremental re-parse; None without a grammar)."""
        if self.tree is None:
            return None
        key = (completion.text, completion.replace_chars)
        if key not in self._edited:
            new_data, start, old_end, new_end = self._span(completion)
            edited = self.tree.copy()
            edited.edit(
                start_byte=start,
                old_end_byte=old_end,
                new_end_byte=new_end,
                start_point=_point(self.data, start),
                old_end_point=_point(self.data, old_end),
                new_end_point=_point(new_data, new_end),
            )
            self._edited[key] = parser(self.context.language).parse(new_data, edited)
        return self._edited[key]

    def check(self, completion: Completion) -> SyntaxCheck:
        """Whether inserting `completion` adds syntax errors to the lines it touches."""
        language = self.context.language
        new_tree = self.insert(completion)
        if self.tree is None or new_tree is None:
            return SyntaxCheck(
                None, None, f"unknown language ({language or 'none given'}): syntax not checked"
            )
        if not completion.text.strip():
            return SyntaxCheck(False, language, "empty completion")
        new_data, start, old_end, new_end = self._span(completion)
        before = count_errors(self.tree.root_node, *_line_span(self.data, start, old_end))
        after = count_errors(new_tree.root_node, *_line_span(new_data, start, new_end))
        if after > before:
            return SyntaxCheck(False, language, f"adds {after - before} syntax error(s) where it is inserted")
        # A stray closing bracket can surface as an error lines below the insertion.
        total_before = count_errors(self.tree.root_node, 0, len(self.data))
        total_after = count_errors(new_tree.root_node, 0, len(new_data))
        if total_after > total_before:
            return SyntaxCheck(
                False, language, f"adds {total_after - total_before} syntax error(s) below the insertion"
            )
        return SyntaxCheck(True, language)
