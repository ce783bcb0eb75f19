"""The language server's features, driven by pytest-lsp clients with VS Code's and Neovim's capabilities
against the real `codescaler lsp` process and the tiny models."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import CODESCALER, COMMENT_CURSOR, COMMENT_DOC, SERVER_ENV, editor_settings, units

pytestmark = pytest.mark.asyncio(loop_scope="module")
PRESETS = ["visual-studio-code", "neovim"]
ENCODING = {"visual-studio-code": "utf-16", "neovim": "utf-8"}


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[CODESCALER, "lsp"], server_env=SERVER_ENV),
    params=PRESETS,
    scope="module",
)
async def client(request, lsp_client: LanguageClient, tiny_models):
    params = types.InitializeParams(
        capabilities=client_capabilities(request.param),
        initialization_options=editor_settings(tiny_models),
    )
    lsp_client.preset = request.param
    lsp_client.init_result = await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


_docs = iter(range(10_000))
_texts: dict[str, str] = {}


def open_doc(client: LanguageClient, text: str = COMMENT_DOC, language: str = "python") -> str:
    """Open `text` plus a last line of its own, so no test is answered from another test's cache."""
    number = next(_docs)
    uri = f"file:///tmp/codescaler-test/doc{number}.py"
    text = _texts[uri] = f"{text}\nunique_{number} = 0\n"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text))
    )
    return uri


def cursor(client: LanguageClient, text: str = COMMENT_DOC, at: tuple[int, int] = COMMENT_CURSOR):
    line, column = at
    return types.Position(line, units(text.split("\n")[line][:column], ENCODING[client.preset]))


async def inline(client, uri, position, kind=types.InlineCompletionTriggerKind.Invoked, selected=None):
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=kind, selected_completion_info=selected),
            text_document=types.TextDocumentIdentifier(uri),
            position=position,
        )
    )


def plain(value):
    """pygls hands results of custom requests over as namedtuples; tests read them as dicts."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


async def stats(client) -> dict:
    return plain(await client.protocol.send_request_async("codescaler/stats", None))


async def test_capabilities_and_negotiated_encoding(client: LanguageClient):
    capabilities = client.init_result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert "codescaler.accepted" in capabilities.execute_command_provider.commands
    assert capabilities.position_encoding == ENCODING[client.preset]


async def test_invoked_gives_ranked_items_at_the_cursor_in_client_units(client: LanguageClient):
    uri = open_doc(client)
    position = cursor(client)
    result = await inline(client, uri, position)
    assert 1 <= len(result.items) <= 3  # invoked_items defaults to 3
    rewards = []
    for item in result.items:
        assert item.range.start == position and item.range.end == position
        assert item.insert_text and "\n" not in item.insert_text  # single-line mode
        assert item.filter_text == item.insert_text
        assert item.command.command == "codescaler.accepted"
        rewards.append(item.command.arguments[0]["reward"])
    assert rewards == sorted(rewards, reverse=True) and rewards[0] > 0


async def test_automatic_gives_only_the_best_item(client: LanguageClient):
    uri = open_doc(client)
    invoked = await inline(client, uri, cursor(client))
    automatic = await inline(client, uri, cursor(client), kind=types.InlineCompletionTriggerKind.Automatic)
    assert [item.insert_text for item in automatic.items] == [invoked.items[0].insert_text]


async def test_completion_lists_ranked_items_with_scores(client: LanguageClient):
    uri = open_doc(client)
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), cursor(client))
    )
    assert result.is_incomplete and result.items
    assert [item.sort_text for item in result.items] == sorted(item.sort_text for item in result.items)
    for rank, item in enumerate(result.items, start=1):
        assert item.detail.startswith(f"codescaler #{rank} · reward ")
        assert item.text_edit.range.start == cursor(client)
        assert item.text_edit.new_text.startswith(item.label.rstrip(".").strip()[:10])


async def test_selected_completion_info_is_extended_and_its_range_used(client: LanguageClient):
    text = "# note: wor\nx = 1\n"
    uri = open_doc(client, text)
    end = cursor(client, text, (0, len("# note: wor")))
    start = types.Position(0, end.character - 3)
    selected = types.SelectedCompletionInfo(range=types.Range(start, end), text="words")
    result = await inline(client, uri, end, selected=selected)
    assert result.items
    for item in result.items:
        assert item.insert_text.startswith("words") and len(item.insert_text) > len("words")
        assert item.range.start == start and item.range.end == end


async def test_cache_answers_a_repeat_and_typed_through(client: LanguageClient):
    uri = open_doc(client)
    first = await inline(client, uri, cursor(client))
    assert (await stats(client))["last"]["cache"] == "miss"
    again = await inline(client, uri, cursor(client))
    assert [i.insert_text for i in again.items] == [i.insert_text for i in first.items]
    assert (await stats(client))["last"]["cache"] == "hit"
    # Type the start of the best suggestion whose first characters are plain (random tiny models also
    # write control characters, and a typed line break would move the cursor to another line).
    best = next(
        i.insert_text for i in first.items if len(i.insert_text) > 2 and i.insert_text[:2].isprintable()
    )
    typed = best[:2]
    line, column = COMMENT_CURSOR
    lines = _texts[uri].split("\n")
    lines[line] = lines[line] + typed
    new_text = "\n".join(lines)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(new_text)],
        )
    )
    before = (await stats(client))["cache"]["typed_through"]
    result = await inline(client, uri, cursor(client, new_text, (line, column + len(typed))))
    assert (await stats(client))["cache"]["typed_through"] == before + 1
    expected = [
        i.insert_text[2:] for i in first.items if i.insert_text.startswith(typed) and len(i.insert_text) > 2
    ]
    assert result.items[0].insert_text == expected[0]


async def test_threshold_above_every_reward_suggests_nothing(client: LanguageClient):
    uri = open_doc(client)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"completion": {"threshold": 1e9}})
    )
    try:
        result = await inline(client, uri, cursor(client))
        assert len(result.items) == 0
        assert (await stats(client))["settings"]["completion"]["threshold"] == 1e9
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"completion": {"threshold": None}})
        )


async def test_per_language_switch(client: LanguageClient):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codescaler": {"languages": {"python": False}}})
    )
    try:
        uri = open_doc(client)
        assert len((await inline(client, uri, cursor(client))).items) == 0
        javascript = "// note: \n"
        other = open_doc(client, javascript, language="javascript")  # other languages stay on
        assert (await inline(client, other, cursor(client, javascript, (0, 9)))).items
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))


async def test_cancel_request_stops_the_engine_work(client: LanguageClient):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"completion": {"max_new_tokens": 1000, "n": 8, "line_mode": "multi"}}
        )
    )
    try:
        uri = open_doc(client, "def f(x):\n    ")
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(1, 4),
        )
        method = types.TEXT_DOCUMENT_INLINE_COMPLETION
        pending = asyncio.ensure_future(
            client.protocol.send_request_async(method, params, msg_id="cancel-me")
        )
        for _ in range(200):  # wait until the engine is working on it
            await asyncio.sleep(0.05)
            if (await stats(client))["engine_service"].get("in_flight"):
                break
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
        with pytest.raises(Exception, match="cancel"):
            await pending
        for _ in range(200):
            if not (await stats(client))["engine_service"].get("in_flight"):
                break
            await asyncio.sleep(0.05)
        service = (await stats(client))["engine_service"]
        assert service["in_flight"] == 0 and service["cancelled"] >= 1
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))


async def test_a_newer_request_for_the_document_supersedes_the_older(client: LanguageClient):
    uri = open_doc(client, "# newer: \n")
    position = cursor(client, "# newer: \n", (0, 9))
    automatic = types.InlineCompletionTriggerKind.Automatic
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"completion": {"debounce_ms": 300}})
    )
    try:
        before = (await stats(client))["superseded"]
        older = asyncio.ensure_future(inline(client, uri, position, kind=automatic))
        await asyncio.sleep(0.05)
        newer = await inline(client, uri, position, kind=automatic)
        assert len((await older).items) == 0 and newer.items
        assert (await stats(client))["superseded"] == before + 1
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))


async def test_an_inline_request_does_not_supersede_a_completion_request(client: LanguageClient):
    """A trigger character makes editors ask for completion and, right after, for inline completion: both
    must be answered."""
    uri = open_doc(client, "# both: \n")
    position = cursor(client, "# both: \n", (0, 8))
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"completion": {"debounce_ms": 300}})
    )
    try:
        before = (await stats(client))["superseded"]
        listed = asyncio.ensure_future(
            client.text_document_completion_async(
                types.CompletionParams(types.TextDocumentIdentifier(uri), position)
            )
        )
        await asyncio.sleep(0.05)
        ghost = await inline(client, uri, position, kind=types.InlineCompletionTriggerKind.Automatic)
        assert ghost.items and (await listed).items
        assert (await stats(client))["superseded"] == before
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))


async def test_acceptance_and_shown_reports_are_counted(client: LanguageClient):
    uri = open_doc(client)
    item = (await inline(client, uri, cursor(client))).items[0]
    before = await stats(client)
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(item.command.command, item.command.arguments)
    )
    client.protocol.notify("textDocument/didShowCompletion", {"item": {"insertText": item.insert_text}})
    client.protocol.notify(
        "textDocument/didPartiallyAcceptCompletion", {"item": {"insertText": "x"}, "acceptedLength": 1}
    )
    after = await stats(client)
    assert after["accepted"] == before["accepted"] + 1
    assert after["shown"] == before["shown"] + 1
    assert after["partially_accepted"] == before["partially_accepted"] + 1
