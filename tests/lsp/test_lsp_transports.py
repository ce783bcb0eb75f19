"""`codescaler lsp --ws` and `--tcp`: many editor connections per process, each its own session over one
shared engine; text frames for browsers; disconnects that hurt nobody else; safe binding."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import free_port, stop_process_group
from tests.lsp.conftest import CODESCALER, COMMENT_CURSOR, COMMENT_DOC, SERVER_ENV, units


def write_config(path, tiny_models) -> str:
    path.write_text(
        f'[models]\npolicy = "{tiny_models["policy"]}"\nreward_model = "{tiny_models["reward"]}"\n\n'
        '[completion]\nn = 4\nmax_new_tokens = 16\nline_mode = "single"\ndebounce_ms = 0\n'
    )
    return str(path)


def start(args, tmp_path):
    """Start `codescaler lsp ARGS` and wait for its 'listening' line."""
    log = tmp_path / f"lsp-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [CODESCALER, "lsp", *args], stdout=subprocess.PIPE, stderr=open(log, "w"),  # noqa: SIM115
        env=SERVER_ENV, start_new_session=True, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    assert "listening on" in line, log.read_text()
    return process


@pytest.fixture(scope="module")
def ws_server(tiny_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ws")
    port = free_port()
    process = start(["--ws", "--port", str(port), "--config", write_config(tmp / "c.toml", tiny_models)], tmp)
    yield f"ws://127.0.0.1:{port}", process
    stop_process_group(process)


class WsSession:
    """One browser-like LSP session over a websocket: JSON-RPC messages without headers."""

    def __init__(self, url, **kwargs):
        self.ws = connect(url, **kwargs)
        self.next_id = 0

    def request(self, method, params):
        self.next_id += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}))
        while True:
            frame = self.ws.recv(timeout=120)
            assert isinstance(frame, str), "the server must send text frames"
            message = json.loads(frame)
            if message.get("id") == self.next_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a server request (progress, configuration)
                self.ws.send(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}))

    def notify(self, method, params):
        self.ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}))

    def start(self, uri="file:///ws/a.py", text=COMMENT_DOC):
        reply = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})  # fmt: skip
        return reply

    def inline(self, uri="file:///ws/a.py"):
        line, column = COMMENT_CURSOR
        character = units(COMMENT_DOC.split("\n")[line][:column], "utf-16")
        return self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}})["result"]["items"]  # fmt: skip

    def stats(self):
        return self.request("codescaler/stats", None)["result"]


def test_websocket_sessions_share_the_engine_and_survive_disconnects(ws_server):
    url, process = ws_server
    first = WsSession(url)
    assert "inlineCompletionProvider" in first.start()["result"]["capabilities"]
    assert first.inline()
    received = first.stats()["engine_service"]["received"]
    first.ws.close()  # a browser tab closes
    time.sleep(0.5)
    assert process.poll() is None
    second, third = WsSession(url), WsSession(url)  # a reload and another tab, at once
    second.start()
    third.start(uri="file:///ws/b.py")
    assert second.inline() and third.inline(uri="file:///ws/b.py")
    # one engine for all sessions: its counter kept counting, models were not loaded again
    assert second.stats()["engine_service"]["received"] >= received + 2
    second.ws.close()
    third.ws.close()


def test_exit_ends_only_that_connection(ws_server):
    url, process = ws_server
    session = WsSession(url)
    session.start()
    session.request("shutdown", None)
    session.notify("exit", None)
    time.sleep(0.5)
    assert process.poll() is None
    other = WsSession(url)
    other.start()
    assert other.inline()
    other.ws.close()


def test_pages_from_other_sites_are_refused(ws_server):
    url, _ = ws_server
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    local = WsSession(url, origin="http://localhost:5173")  # a local dev page is fine
    local.start()
    local.ws.close()


def test_malformed_frames_get_a_parse_error_and_the_session_goes_on(ws_server):
    url, _ = ws_server
    session = WsSession(url)
    session.start()
    session.ws.send("{not json")
    reply = json.loads(session.ws.recv(timeout=30))
    while "method" in reply:  # status notifications may come first
        reply = json.loads(session.ws.recv(timeout=30))
    assert reply["error"]["code"] == -32700 and reply["id"] is None
    assert session.inline()
    session.ws.close()


def test_websocket_token(tiny_models, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    port = free_port()
    config = write_config(tmp_path / "c.toml", tiny_models)
    process = start(["--ws", "--port", str(port), "--config", config, "--ws-token-file", str(token_file)],
                    tmp_path)  # fmt: skip
    try:
        url = f"ws://127.0.0.1:{port}"
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        assert refused.value.response.status_code == 401
        WsSession(f"{url}/?token=s3cret").start()  # browsers cannot set headers: a query parameter
        WsSession(url, additional_headers={"Authorization": "Bearer s3cret"}).start()
    finally:
        stop_process_group(process)


def lsp_frame(message) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(sock_file) -> dict:
    length = 0
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length"):
            length = int(line.split(b":")[1])
    return json.loads(sock_file.read(length))


def tcp_initialize(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(lsp_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                            "params": {"processId": None, "rootUri": None, "capabilities": {}}}))  # fmt: skip
    reply = read_frame(sock.makefile("rb"))
    return sock, reply


def test_tcp_serves_one_connection_after_another(tiny_models, tmp_path):
    port = free_port()
    process = start(["--tcp", "--port", str(port), "--config", write_config(tmp_path / "c.toml", tiny_models)],
                    tmp_path)  # fmt: skip
    try:
        for _ in range(2):
            sock, reply = tcp_initialize(port)
            assert "inlineCompletionProvider" in reply["result"]["capabilities"]
            sock.sendall(lsp_frame({"jsonrpc": "2.0", "method": "exit", "params": None}))
            sock.close()
            time.sleep(0.3)
            assert process.poll() is None
    finally:
        stop_process_group(process)


@pytest.mark.parametrize("mode", ["--tcp", "--ws"])
def test_binding_beyond_loopback_without_protection_is_refused(mode, tmp_path):
    result = subprocess.run([CODESCALER, "lsp", mode, "--host", "0.0.0.0", "--port", str(free_port())],
                            capture_output=True, text=True, env=SERVER_ENV, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("codescaler: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "127.0.0.1" in result.stderr
