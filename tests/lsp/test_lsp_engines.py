"""Engine modes as the user sees them: a remote `codescaler serve` with automatic reconnect, a failing
backend reported once instead of silently, a slow one, and model loading shown as `$/progress`."""

from __future__ import annotations

import time

import pytest

from tests.conftest import free_port
from tests.lsp.conftest import CODESCALER, COMMENT_CURSOR, COMMENT_DOC, SERVER_ENV, editor_settings, units
from tests.lsp.raw_client import RawLspClient
from tests.test_serve import TOKEN, start_server, stop_server

URI = "file:///tmp/engines/a.py"


def inline(client):
    line, column = COMMENT_CURSOR
    character = units(COMMENT_DOC.split("\n")[line][:column], "utf-16")
    reply = client.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": URI}, "position": {"line": line, "character": character},
        "context": {"triggerKind": 1}})  # fmt: skip
    return reply["result"]["items"]


_versions = iter(range(2, 10_000))


def fresh_inline(client):
    """An inline request on a document edited to be new, so the cache cannot answer it."""
    version = next(_versions)
    client.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                  "contentChanges": [{"text": COMMENT_DOC + f"# edit {version}\n"}]})  # fmt: skip
    return inline(client)


def notes(client, method):
    return [m["params"] for m in list(client.notifications) if m.get("method") == method]


def wait_for(predicate, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def lsp():
    clients = []

    def start(*args, options=None, capabilities=None):
        client = RawLspClient([CODESCALER, "lsp", *args], env=SERVER_ENV)
        clients.append(client)
        default = {"window": {"workDoneProgress": True}}
        client.initialize(options or {}, default if capabilities is None else capabilities)
        client.open(URI, COMMENT_DOC)
        return client

    yield start
    for client in clients:
        client.close()


def test_remote_engine_reconnects_after_the_engine_restarts(lsp, tiny_models, tmp_path):
    port = free_port()
    process, _, log = start_server(tiny_models, tmp_path, port=port)
    try:
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN + "\n")
        client = lsp("--engine", f"ws://127.0.0.1:{port}", "--token-file", str(token_file),
                     options={"completion": {"n": 4, "max_new_tokens": 16, "line_mode": "single"}})  # fmt: skip
        assert inline(client)
        stop_server(process, log)  # the GPU host goes away
        assert fresh_inline(client) == []  # an empty answer, not an error or a hang
        wait_for(lambda: any(s["state"] == "error" for s in notes(client, "codescaler/status")))
        for _ in range(3):
            fresh_inline(client)
        errors = [m for m in notes(client, "window/showMessage") if m["type"] == 1]
        assert len(errors) == 1 and "engine" in errors[0]["message"]  # told once, not on every keystroke
        process, _, log = start_server(tiny_models, tmp_path, port=port)  # it comes back
        wait_for(lambda: notes(client, "codescaler/status")[-1]["state"] == "ready")
        assert fresh_inline(client)
    finally:
        stop_server(process, log)


def test_a_wrong_engine_token_is_reported(lsp, tiny_models, tmp_path):
    process, port, log = start_server(tiny_models, tmp_path)
    try:
        client = lsp("--engine", f"ws://127.0.0.1:{port}", "--token", "wrong")
        assert inline(client) == []
        wait_for(lambda: notes(client, "window/showMessage"))
        message = notes(client, "window/showMessage")[0]["message"]
        assert "401" in message and "token" in message
        # the right token, from a file named in the editor's settings (as `[models] token_file` in the file)
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN)
        options = {"models": {"engine": f"ws://127.0.0.1:{port}", "token_file": str(token_file)},
                   "completion": {"n": 4, "max_new_tokens": 16, "line_mode": "single"}}  # fmt: skip
        assert inline(lsp(options=options))
    finally:
        stop_server(process, log)


def test_models_that_cannot_load_are_reported_once_with_progress_ended(lsp, tmp_path):
    options = {"models": {"policy": str(tmp_path / "missing-policy"), "reward_model": str(tmp_path / "rm")}}
    client = lsp(options=options)
    assert inline(client) == [] and inline(client) == []
    wait_for(lambda: notes(client, "window/showMessage"))
    shown = notes(client, "window/showMessage")
    assert len(shown) == 1 and shown[0]["type"] == 1 and "missing-policy" in shown[0]["message"]
    states = [s["state"] for s in notes(client, "codescaler/status")]
    assert states[0] == "loading" and states[-1] == "error"
    progress = [p["value"]["kind"] for p in notes(client, "$/progress")]
    assert progress == ["begin", "end"]


def test_model_loading_shows_progress_and_status(lsp, tiny_models):
    client = lsp(options=editor_settings(tiny_models))
    assert inline(client)
    creates = [m for m in client.notifications if m.get("method") == "window/workDoneProgress/create"]
    progress = notes(client, "$/progress")
    assert len(creates) == 1 and [p["value"]["kind"] for p in progress] == ["begin", "end"]
    assert (
        progress[0]["value"]["title"] == "codescaler" and progress[-1]["value"]["message"] == "models ready"
    )
    assert [s["state"] for s in notes(client, "codescaler/status")][:2] == ["loading", "ready"]


def test_no_progress_for_clients_without_support(lsp, tiny_models):
    client = lsp(options=editor_settings(tiny_models), capabilities={})
    assert inline(client)
    assert notes(client, "$/progress") == []


def test_a_slow_backend_is_reported(lsp, tiny_models):
    options = editor_settings(tiny_models)
    options["server"] = {"slow_s": 0.001}
    client = lsp(options=options)
    for _ in range(4):
        fresh_inline(client)
    wait_for(lambda: any(s["state"] == "slow" for s in notes(client, "codescaler/status")))
    warnings = [m for m in notes(client, "window/showMessage") if m["type"] == 2]
    assert len(warnings) == 1 and "completion.n" in warnings[0]["message"]


def test_utf32_positions_when_the_client_prefers_them(lsp, tiny_models):
    client = lsp(options=editor_settings(tiny_models),
                 capabilities={"general": {"positionEncodings": ["utf-32", "utf-16"]}})  # fmt: skip
    line, column = COMMENT_CURSOR  # code points: utf-32 units
    reply = client.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": URI}, "position": {"line": line, "character": column},
        "context": {"triggerKind": 1}})  # fmt: skip
    items = reply["result"]["items"]
    assert items and all(item["range"]["start"] == {"line": line, "character": column} for item in items)
