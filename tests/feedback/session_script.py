"""A scripted editor session against the real language server, and the outcomes it should leave.

The script shows suggestions, accepts some fully and some partly, ignores others and types past some, as
a user would; `Expected` keeps, from the client's side only (what the server answered, what the client
reported), what every record, `feedback stats`, `pairs` and `threshold` must then say.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

DOC = "# note: \n# more: \nx = 1\n"  # comment lines: any single-line text is valid there, even from random models
CURSOR = types.Position(0, len("# note: "))
LATER = types.Position(1, len("# more: "))
INVOKED = types.InlineCompletionTriggerKind.Invoked
AUTOMATIC = types.InlineCompletionTriggerKind.Automatic


@dataclass
class Shown:
    """One answered request as the client saw it."""

    feature: str
    uri: str
    text: str
    offset: int
    items: list[dict[str, Any]]  # {"rank", "reward", "text"} from each item's command argument and text
    outcome: str = "open"
    accepted_rank: int | None = None
    accepted_chars: int | None = None
    shown_ranks: set[int] = field(default_factory=set)

    @property
    def request(self) -> str:
        return self.items[0]["request"]


@dataclass
class Expected:
    requests: int = 0
    superseded: int = 0
    answered: list[Shown] = field(default_factory=list)
    open_by: dict[tuple[str, str], Shown] = field(default_factory=dict)


def _offset(position: types.Position) -> int:
    lines = DOC.split("\n")
    return sum(len(line) + 1 for line in lines[: position.line]) + position.character


def _items(result: Any, feature: str) -> list[dict[str, Any]]:
    items = result.items if result is not None else []
    out = []
    for item in items:
        details = dict(item.command.arguments[0])
        text = item.insert_text if feature == "inline" else item.text_edit.new_text
        out.append({**details, "text": text, "lsp": item})
    return out


class Session:
    def __init__(self, client: LanguageClient):
        self.client = client
        self.expected = Expected()
        self.docs = 0
        self.texts: dict[str, str] = {}

    def open(self) -> str:
        """A new document; its last line is its own, so no answer comes from another document's cache."""
        self.docs += 1
        uri = f"file:///tmp/codescaler-feedback/doc{self.docs}.py"
        self.texts[uri] = f"{DOC}unique_{self.docs} = 0\n"
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, self.texts[uri]))
        )
        return uri

    def _started(self, feature: str, uri: str) -> None:
        self.expected.requests += 1
        earlier = self.expected.open_by.pop((feature, uri), None)
        if earlier is not None and earlier.outcome == "open":
            earlier.outcome = "dismissed"

    def _answered(self, feature: str, uri: str, position: types.Position, items: list[dict]) -> Shown | None:
        if not items:
            return None
        shown = Shown(feature, uri, self.texts[uri], _offset(position), items)
        self.expected.answered.append(shown)
        self.expected.open_by[(feature, uri)] = shown
        return shown

    async def inline(self, uri: str, position: types.Position, kind=INVOKED) -> Shown | None:
        self._started("inline", uri)
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=kind),
                text_document=types.TextDocumentIdentifier(uri),
                position=position,
            )
        )
        return self._answered("inline", uri, position, _items(result, "inline"))

    async def listed(self, uri: str, position: types.Position) -> Shown | None:
        self._started("completion", uri)
        result = await self.client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), position)
        )
        return self._answered("completion", uri, position, _items(result, "completion"))

    async def typed_past(self, uri: str) -> Shown | None:
        """Two automatic requests, the second before the first's debounce ends: the first is superseded."""
        self._started("inline", uri)
        first = asyncio.ensure_future(
            self.client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    context=types.InlineCompletionContext(trigger_kind=AUTOMATIC),
                    text_document=types.TextDocumentIdentifier(uri),
                    position=CURSOR,
                )
            )
        )
        await asyncio.sleep(0.05)
        second = await self.inline(uri, LATER, AUTOMATIC)
        assert not (await first).items, "the first request should have been superseded"
        self.expected.superseded += 1
        return second

    def show(self, shown: Shown, index: int) -> None:
        item = shown.items[index]
        shown.shown_ranks.add(item["rank"])
        self.client.protocol.notify("textDocument/didShowCompletion", {"item": self._raw(item)})

    async def accept(self, shown: Shown, index: int) -> None:
        item = shown.items[index]
        command = item["lsp"].command
        await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command.command, command.arguments)
        )
        shown.outcome, shown.accepted_rank, shown.accepted_chars = "accepted", item["rank"], len(item["text"])

    def accept_part(self, shown: Shown, index: int, share: float) -> int:
        item = shown.items[index]
        chars = max(1, math.ceil(share * len(item["text"])))
        self.client.protocol.notify(
            "textDocument/didPartiallyAcceptCompletion", {"item": self._raw(item), "acceptedLength": chars}
        )
        shown.outcome, shown.accepted_rank, shown.accepted_chars = "partial", item["rank"], chars
        return chars

    def _raw(self, item: dict) -> Any:
        return self.client.protocol._converter.unstructure(item["lsp"])


async def play(session: Session) -> Expected:
    """The user's session; see the module docstring."""
    a = await session.inline(session.open(), CURSOR)  # invoked: up to 3 items
    assert a is not None and len(a.items) >= 2, "the tiny models should give at least two distinct items"
    session.show(a, 0)
    await session.accept(a, 1)  # took the second suggestion

    b = await session.inline(session.open(), CURSOR)
    assert b is not None
    session.show(b, 0)
    session.accept_part(b, 0, 0.75)  # took three quarters of the first

    c_uri = session.open()
    await session.inline(c_uri, CURSOR, AUTOMATIC)  # shown, then ignored:
    await session.inline(c_uri, LATER, AUTOMATIC)  # the user moved on (the one before is dismissed)
    listed = await session.listed(c_uri, CURSOR)  # the suggest widget: a list, not dismissing the inline one
    assert listed is not None and len(listed.items) >= 2
    await session.accept(listed, len(listed.items) - 1)

    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"completion": {"debounce_ms": 300}})
    )
    d = await session.typed_past(session.open())
    assert d is not None
    session.accept_part(d, 0, 0.0)  # one character: too little to count as a choice

    e_uri = session.open()
    await session.inline(e_uri, CURSOR)  # ignored
    await session.inline(e_uri, LATER)  # dismisses it; this one is left open (no outcome reported)
    return session.expected
