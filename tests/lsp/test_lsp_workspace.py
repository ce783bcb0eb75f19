"""Repository context through a real LSP client: a multi-file project as the workspace; the prompt's
cross-file definitions (what the engine reports it carried), edits, files changed on disk, the
settings that turn it off, and nothing read outside the workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.conftest import CODESCALER, SERVER_ENV, editor_settings
from tests.lsp.test_lsp_features import plain
from tests.workspace.project import FILES, make_project

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[CODESCALER, "lsp"], server_env=SERVER_ENV), scope="module"
)
async def client(lsp_client: LanguageClient, tiny_models, tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("project"))
    lsp_client.root = root
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:  # VS Code accepts watcher registrations
        lsp_client.registrations += params.registrations

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(root.as_uri(), "project")],
            initialization_options=editor_settings(tiny_models),
        )
    )
    yield
    await lsp_client.shutdown_session()


_versions: dict[str, int] = {}


def show(client: LanguageClient, relative: str, text: str, root: Path | None = None) -> str:
    uri = ((root or client.root) / relative).as_uri()
    if uri not in _versions:
        _versions[uri] = 1
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
        )
    else:
        _versions[uri] += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=_versions[uri], uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
    return uri


async def complete_at_end(client: LanguageClient, uri: str, text: str) -> dict:
    lines = text.split("\n")
    await client.text_document_completion_async(
        types.CompletionParams(
            types.TextDocumentIdentifier(uri), types.Position(len(lines) - 1, len(lines[-1]))
        )
    )
    return plain(await client.protocol.send_request_async("codescaler/stats", None))["context"]


async def ready(client: LanguageClient) -> None:
    for _ in range(200):
        context = plain(await client.protocol.send_request_async("codescaler/stats", None))["context"]
        if context["indexes"] and all(index["ready"] for index in context["indexes"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the workspace was not indexed")


async def test_the_prompt_carries_the_definitions_the_cursor_needs(client: LanguageClient):
    await ready(client)
    text = FILES["pkg/main.py"]
    context = await complete_at_end(client, show(client, "pkg/main.py", text), text)
    assert context["roots"] == [str(client.root.resolve())]
    assert context["last"]["symbols"][:2] == ["Store", "load_config"]
    used = {(u["path"], u["symbol"]) for u in context["last"]["used"]}
    assert {("pkg/store.py", "Store"), ("pkg/config.py", "load_config")} <= used  # what the prompt carried
    assert context["last"]["retrieval_ms"] is not None
    watched = [r for r in client.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    assert watched and "py" in watched[0].register_options["watchers"][0]["globPattern"]


async def test_the_index_follows_edits_and_files_changed_on_disk(client: LanguageClient):
    store = FILES["pkg/store.py"] + "\n\ndef make_store(size: int) -> Store:\n    ...\n"
    show(client, "pkg/store.py", store)  # unsaved, in the editor
    text = FILES["pkg/main.py"] + "    )\n    spare = make_store("
    context = await complete_at_end(client, show(client, "pkg/main.py", text), text)
    assert "make_store" in context["last"]["symbols"]

    (client.root / "pkg/extra.py").write_text("def extra_helper(rows: list) -> int:\n    ...\n")
    uri = (client.root / "pkg/extra.py").as_uri()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(uri, types.FileChangeType.Created)])
    )
    text = "def tally(rows):\n    return extra_helper("
    context = await complete_at_end(client, show(client, "pkg/tally.py", text), text)
    assert context["last"]["symbols"] == ["extra_helper"]


async def test_settings_turn_it_off_and_nothing_outside_is_read(client: LanguageClient, tmp_path: Path):
    outside = tmp_path / "elsewhere.py"
    text = "from pkg.config import load_config\nvalue = load_config("
    context = await complete_at_end(client, show(client, "elsewhere.py", text, root=tmp_path), text)
    assert context["last"]["files"] == [] and context["last"]["used"] == []
    assert not outside.exists()

    for settings in ({"context": {"enabled": False}}, {"context": {"disabled_languages": ["python"]}}):
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
        text = (
            f"from pkg.config import load_config\n# {next(iter(settings['context']))}\nvalue = load_config("
        )
        context = await complete_at_end(client, show(client, "pkg/off.py", text), text)
        assert context["last"]["used"] == []
    on = {"context": {"enabled": True, "disabled_languages": []}}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=on))
    text = "from pkg.config import load_config\n# on again\nvalue = load_config("
    context = await complete_at_end(client, show(client, "pkg/off.py", text), text)
    assert ("pkg/config.py", "load_config") in {(u["path"], u["symbol"]) for u in context["last"]["used"]}
