"""Ranked engine items -> LSP inline completion items and completion items.

Ranges are computed in code points and converted to the negotiated position encoding at the very end.
An inline item's range always stays on the cursor line (the spec requires it): it starts at the cursor,
or at the selected suggestion's start, and covers the auto-closed brackets the item replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from engine.protocol import ScoredCompletion
from lsp_server.positions import LineIndex

ACCEPT_COMMAND = "codescaler.accepted"


@dataclass(frozen=True)
class Placement:
    """Where items go, in the document as the editor has it: items replace `start`..`end` plus the
    item's `replace_chars` after it, and begin with `typed` (a selected suggestion's text, which the
    editor shows in place of `start`..`end`; empty without one, where start == end == the cursor)."""

    index: LineIndex
    start: int
    end: int
    typed: str
    encoding: str

    def range(self, replace_chars: int) -> types.Range:
        start = self.index.position(self.start, self.encoding)
        end = self.index.position(self.end + replace_chars, self.encoding)
        return types.Range(types.Position(*start), types.Position(*end))


def _accept_command(item: ScoredCompletion, request_id: str) -> types.Command:
    details = {"request": request_id, "rank": item.rank, "reward": item.reward, "length": len(item.text)}
    return types.Command(title="codescaler: accepted", command=ACCEPT_COMMAND, arguments=[details])


def inline_items(
    items: list[ScoredCompletion], placement: Placement, request_id: str
) -> list[types.InlineCompletionItem]:
    result = []
    for item in items:
        text = placement.typed + item.text
        result.append(
            types.InlineCompletionItem(
                insert_text=text,
                filter_text=text,
                range=placement.range(item.replace_chars),
                command=_accept_command(item, request_id),
            )
        )
    return result


def _label(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
    return line if len(line) <= 60 else line[:57] + "..."


def completion_items(
    items: list[ScoredCompletion], placement: Placement, request_id: str
) -> list[types.CompletionItem]:
    result = []
    for item in items:
        text = placement.typed + item.text
        score = "unscored" if item.score is None else f"reward {item.reward:.3f}"
        result.append(
            types.CompletionItem(
                label=_label(text),
                kind=types.CompletionItemKind.Text,
                detail=f"codescaler #{item.rank} · {score}",
                documentation=types.MarkupContent(types.MarkupKind.Markdown, f"```\n{text}\n```"),
                sort_text=f"{item.rank:04d}",
                filter_text=text,
                text_edit=types.TextEdit(range=placement.range(item.replace_chars), new_text=text),
                insert_text_format=types.InsertTextFormat.PlainText,
                command=_accept_command(item, request_id),
            )
        )
    return result
