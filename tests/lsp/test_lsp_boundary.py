"""The JSON-RPC boundary of a real `codescaler lsp` process, over stdio, TCP and websockets: broken frames,
values that are not requests, and the LSP lifecycle (before initialize, after shutdown).

Each case once made a session deaf or left a client waiting forever under plain pygls: one `Content-Length:
abc` frame glued every later frame to the previous body; a request without `"jsonrpc"` or after shutdown
was dropped; one before initialize got -32603. Every test asserts the exact JSON-RPC answer (code and id,
where the specs name them: JSON-RPC 2.0 section 5.1, LSP 3.17 "Initialize" and "Shutdown") and that the
session still answers a request sent afterwards.

No models are loaded: the sessions are initialized but never sent `initialized`, which is when the server
starts its engine, and nothing here asks for completions.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from lsp_server.transports import DEFAULT_MAX_MESSAGE_BYTES
from tests.conftest import free_port, stop_process_group
from tests.lsp.conftest import CODESCALER, SERVER_ENV
from tests.lsp.raw_client import RawLspClient, frame, start_listening

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SERVER_NOT_INITIALIZED = -32002
STATS = "codescaler/stats"
DID_SHOW = "textDocument/didShowCompletion"  # a notification whose effect shows in the stats ("shown")
TIMEOUT_S = 30
INIT_PARAMS = {"processId": None, "rootUri": None, "capabilities": {}}


# servers and sessions --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One `codescaler lsp --tcp` process for the module: the port. It must outlive every test's garbage."""
    port = free_port()
    log = tmp_path_factory.mktemp("boundary-tcp") / "lsp.log"
    process = start_listening([CODESCALER, "lsp", "--tcp", "--port", str(port)], SERVER_ENV, log)
    yield port
    alive = process.poll() is None
    stop_process_group(process)
    assert alive, f"the TCP server died:\n{log.read_text()[-4000:]}"


@pytest.fixture(params=["stdio", "tcp"])
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[[], RawLspClient]]:
    """New sessions, not initialized: a `codescaler lsp` process each over stdio, a new connection to the
    module's server over TCP. Closed (shutdown, exit) after the test."""
    clients: list[RawLspClient] = []

    def new_session() -> RawLspClient:
        if request.param == "stdio":
            client = RawLspClient([CODESCALER, "lsp"], env=SERVER_ENV)
        else:
            client = RawLspClient.tcp("127.0.0.1", request.getfixturevalue("tcp_server"))
        clients.append(client)
        return client

    yield new_session
    for client in clients:
        client.close()
        assert client.read_error is None, f"the server wrote something unreadable: {client.read_error!r}"


@pytest.fixture
def session(connect: Callable[[], RawLspClient]) -> RawLspClient:
    client = connect()
    assert "capabilities" in client.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)["result"]
    return client


# helpers ---------------------------------------------------------------------------------------------


def stats_request(request_id: int | str) -> bytes:
    return frame({"jsonrpc": "2.0", "id": request_id, "method": STATS, "params": None})


def answers_to(client: RawLspClient, data: bytes) -> list[dict]:
    """Send `data`, then a stats request; every answer up to and including that request's, which must
    be a result (the session is not deaf) and must come last (the server answers in order)."""
    probe = f"probe-{time.monotonic_ns()}"
    client.send_raw(data + stats_request(probe))
    answers = client.collect(probe, TIMEOUT_S)
    assert "result" in answers[-1] and "shown" in answers[-1]["result"], answers[-1]
    return answers[:-1]


def errors(answers: list[dict]) -> list[tuple[int | str | None, int]]:
    assert all("error" in answer and "id" in answer for answer in answers), answers
    return [(answer["id"], answer["error"]["code"]) for answer in answers]


def assert_still_serving(client: RawLspClient) -> None:
    """A later request on its own, in a separate write, is answered too."""
    reply = client.request(STATS, None, timeout_s=TIMEOUT_S)
    assert "result" in reply, reply


# 1. frames that cannot be read -----------------------------------------------------------------------


def test_content_length_abc_then_a_valid_request_is_answered(session: RawLspClient):
    """The reported bug: one such frame left the session answering nothing, ever."""
    body = json.dumps({"jsonrpc": "2.0", "id": "in-the-bad-frame", "method": STATS}).encode()
    answers = answers_to(session, b"Content-Length: abc\r\n\r\n" + body)
    assert errors(answers) == [(None, PARSE_ERROR)]
    assert "Content-Length" in answers[0]["error"]["message"]
    assert_still_serving(session)


VALID = json.dumps({"jsonrpc": "2.0", "id": "framed", "method": STATS}).encode()


@pytest.mark.parametrize(
    "data, code",
    [
        (b"Content-Length: -1\r\n\r\n" + VALID, PARSE_ERROR),
        (b"Content-Length: 1e9\r\n\r\n" + VALID, PARSE_ERROR),
        (b"Content-Length: \r\n\r\n" + VALID, PARSE_ERROR),
        (b"Content-Length: 0x20\r\n\r\n" + VALID, PARSE_ERROR),
        (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + VALID, PARSE_ERROR),
        (b"Content-Length: %d\r\n" % len(VALID) + VALID, PARSE_ERROR),  # no blank line after the header
        (b"Content-Length: %d\r\n\r\n" % (len(VALID) + 40) + VALID, PARSE_ERROR),  # too long
        (b"Content-Length: %d\r\n\r\n" % (len(VALID) - 5) + VALID, PARSE_ERROR),  # too short
        (b"Content-Length: 0\r\n\r\n", PARSE_ERROR),
        (b"Content-Length: 1000000000\r\n\r\n" + VALID, INVALID_REQUEST),  # over the size limit
        (b"Content-Length: " + b"9" * 40 + b"\r\n\r\n" + VALID, INVALID_REQUEST),
    ],
    ids=["minus-one", "1e9", "empty", "hex", "no-content-length", "no-blank-line", "too-long", "too-short",
         "zero", "over-the-limit", "forty-digits"],
)  # fmt: skip
def test_a_bad_content_length_costs_one_error_and_no_later_request(session: RawLspClient, data, code):
    """Exactly one error (id null) for the broken frame, whose request is not answered (it was not
    read), and the request right after it gets its answer; the reader does not wait for bytes that a
    too-long Content-Length promised."""
    assert errors(answers_to(session, data)) == [(None, code)]
    assert_still_serving(session)


def test_header_line_endings_and_case_are_tolerated(session: RawLspClient):
    """Lenient where it costs nothing: lower case names, bare \\n line ends, an extra header first."""
    data = b"content-type: application/vscode-jsonrpc\ncontent-length:  %d \n\n" % len(VALID) + VALID
    answers = answers_to(session, data)
    assert [answer["id"] for answer in answers] == ["framed"] and "result" in answers[0], answers


def test_bytes_outside_any_frame_are_skipped(session: RawLspClient):
    garbage = b"\r\n\r\nhello\x00\xff world\r\n" + b"x" * 100_000 + b"\r\n\r\n"
    assert answers_to(session, garbage) == []
    assert_still_serving(session)


@pytest.mark.parametrize(
    "body",
    [b"{this is not json", b"\xff\xfe\x00garbage\x80", b"NaN", b'{"a": Infinity}', b"[" * 100_000,
     json.dumps({"jsonrpc": "2.0", "id": 3, "method": STATS}).encode("utf-16")],
    ids=["not-json", "not-utf8", "nan", "infinity", "nested-too-deep", "utf-16"],
)  # fmt: skip
def test_a_body_that_is_not_json_gets_a_parse_error_with_id_null(session: RawLspClient, body: bytes):
    answers = answers_to(session, b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert errors(answers) == [(None, PARSE_ERROR)]
    assert_still_serving(session)


def test_a_message_over_the_size_limit_is_skipped_without_being_buffered(connect):
    """A real body one byte over the limit (64 MiB): refused with one error, its bytes skipped as they
    come (the server's peak memory grows by far less than the message), and the next request answered."""
    client = connect()
    client.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
    head = b'{"jsonrpc": "2.0", "id": "huge", "method": "codescaler/stats", "params": {"text": "'
    filler = DEFAULT_MAX_MESSAGE_BYTES + 1 - len(head) - len(b'"}}')
    body = head + b"a" * filler + b'"}}'
    assert len(body) == DEFAULT_MAX_MESSAGE_BYTES + 1
    before = _peak_memory_bytes(client)
    answers = answers_to(client, b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert errors(answers) == [(None, INVALID_REQUEST)]
    assert "over the limit" in answers[0]["error"]["message"]
    if before is not None:  # stdio: the server process is ours to look at
        grown = _peak_memory_bytes(client) - before
        assert grown < DEFAULT_MAX_MESSAGE_BYTES // 2, f"peak memory grew by {grown} bytes"
    assert_still_serving(client)


def _peak_memory_bytes(client: RawLspClient) -> int | None:
    if client.process is None:
        return None
    status = Path(f"/proc/{client.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


# 2. JSON values that are not request objects ---------------------------------------------------------


@pytest.mark.parametrize(
    "message, answer_id",
    [
        ({"id": 7, "method": STATS, "params": None}, 7),  # no "jsonrpc": pygls dropped it silently
        ({"jsonrpc": "1.0", "id": "v1", "method": STATS}, "v1"),
        ({"jsonrpc": 2.0, "id": 8, "method": STATS}, 8),
        ({"jsonrpc": "2.0", "id": 9}, 9),  # no method
        ({"jsonrpc": "2.0", "id": 10, "method": 5}, 10),
        ({"jsonrpc": "2.0", "id": 11, "method": STATS, "params": 3}, 11),
        ({"jsonrpc": "2.0", "id": 12, "method": STATS, "result": 1}, 12),
        ({"jsonrpc": "2.0", "id": [1], "method": STATS}, None),  # an id that cannot be echoed
        ({"jsonrpc": "2.0", "id": 1.5, "method": STATS}, None),
        ({"jsonrpc": "2.0", "id": True, "method": STATS}, None),
        ({"jsonrpc": "2.0", "id": None, "method": STATS}, None),
        ({"jsonrpc": "2.0", "method": DID_SHOW, "params": "x"}, None),  # a notification, still answered
        ({"method": DID_SHOW}, None),
        ({}, None),
        ([{"jsonrpc": "2.0", "id": 13, "method": STATS}], None),  # a batch: LSP has none
        ([], None),
        (5, None),
        ("request", None),
        (None, None),
    ],
    ids=lambda value: json.dumps(value)[:40],
)
def test_a_value_that_is_not_a_request_gets_invalid_request(session: RawLspClient, message, answer_id):
    answers = answers_to(session, frame(message))
    assert errors(answers) == [(answer_id, INVALID_REQUEST)]
    assert "Invalid Request" in answers[0]["error"]["message"]
    assert_still_serving(session)


def test_unknown_methods_get_method_not_found_whatever_their_params(session: RawLspClient):
    requests = [
        {"jsonrpc": "2.0", "id": 21, "method": "codescaler/nothing", "params": {}},
        {"jsonrpc": "2.0", "id": 22, "method": "$/nothing"},  # LSP: $/ requests get -32601
        {"jsonrpc": "2.0", "id": 23, "method": "textDocument/hover", "params": {"not": "hover params"}},
        {"jsonrpc": "2.0", "method": "$/nothing"},  # a notification: no answer
        # a notification's method with an id: lsprotocol's notification type drops the id, so pygls
        # would run it and never answer
        {
            "jsonrpc": "2.0",
            "id": 24,
            "method": "textDocument/didClose",
            "params": {"textDocument": {"uri": "file:///x"}},
        },
    ]
    answers = answers_to(session, b"".join(frame(request) for request in requests))
    assert errors(answers) == [
        (21, METHOD_NOT_FOUND),
        (22, METHOD_NOT_FOUND),
        (23, METHOD_NOT_FOUND),
        (24, METHOD_NOT_FOUND),
    ]


def test_params_may_be_omitted_and_bad_params_get_invalid_params(session: RawLspClient):
    requests = [
        {"jsonrpc": "2.0", "id": "no-params", "method": STATS},
        {"jsonrpc": "2.0", "id": "bad-params", "method": "workspace/executeCommand", "params": {}},
    ]
    answers = answers_to(session, b"".join(frame(request) for request in requests))
    assert [answer["id"] for answer in answers] == ["no-params", "bad-params"]
    assert "result" in answers[0], answers
    assert answers[1]["error"]["code"] == INVALID_PARAMS, answers
    assert "workspace/executeCommand" in answers[1]["error"]["message"]


# 3. the lifecycle ------------------------------------------------------------------------------------


def test_before_initialize_requests_get_server_not_initialized_and_notifications_are_dropped(connect):
    client = connect()
    client.notify(DID_SHOW, {})  # dropped: the spec says so, and nothing exists to handle it yet
    for method in (STATS, "codescaler/nothing"):
        reply = client.request(method, None, timeout_s=TIMEOUT_S)
        assert reply["error"]["code"] == SERVER_NOT_INITIALIZED, reply
    assert "result" in client.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
    assert client.request(STATS, None, timeout_s=TIMEOUT_S)["result"]["shown"] == 0
    client.notify(DID_SHOW, {})  # control: the same notification counts once the session is initialized
    assert client.request(STATS, None, timeout_s=TIMEOUT_S)["result"]["shown"] == 1


def test_initialize_is_accepted_once(session: RawLspClient):
    reply = session.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
    assert reply["error"]["code"] == INVALID_REQUEST, reply
    assert_still_serving(session)


def test_after_shutdown_requests_get_invalid_request_and_exit_still_works(connect, tcp_server):
    client = connect()
    client.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
    reply = client.request("shutdown", None, timeout_s=TIMEOUT_S)
    assert "result" in reply and reply["result"] is None, reply
    for method in (STATS, "codescaler/nothing", "shutdown"):
        reply = client.request(method, None, timeout_s=TIMEOUT_S)
        assert reply["error"]["code"] == INVALID_REQUEST, reply
        assert "shut down" in reply["error"]["message"]
    client.notify(DID_SHOW, {})
    client.notify("exit", None)
    _assert_session_ended(client)
    if client.sock is not None:  # over TCP the process serves others: a new connection still works
        other = RawLspClient.tcp("127.0.0.1", tcp_server)
        other.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
        assert_still_serving(other)
        other.close()


def test_exit_before_initialize_ends_the_session(connect):
    client = connect()
    client.notify("exit", None)
    _assert_session_ended(client)


def _assert_session_ended(client: RawLspClient) -> None:
    """The server closed its side (the process ended over stdio), within a hang bound."""
    assert client.ended.wait(TIMEOUT_S), "the session did not end"
    if client.process is not None:
        client.process.wait(TIMEOUT_S)


# 4. websockets share the protocol --------------------------------------------------------------------


@pytest.fixture(scope="module")
def ws_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("boundary-ws") / "lsp.log"
    process = start_listening([CODESCALER, "lsp", "--ws", "--port", str(port)], SERVER_ENV, log)
    yield f"ws://127.0.0.1:{port}"
    alive = process.poll() is None
    stop_process_group(process)
    assert alive, f"the websocket server died:\n{log.read_text()[-4000:]}"


def _ws_answer(websocket, text: str) -> dict:
    websocket.send(text)
    while True:
        message = json.loads(websocket.recv(timeout=TIMEOUT_S))
        if "method" not in message:
            return message


def test_websocket_frames_get_the_same_answers(ws_url: str):
    with ws_connect(ws_url, max_size=None) as websocket:
        stats = json.dumps({"jsonrpc": "2.0", "id": 1, "method": STATS})
        assert _ws_answer(websocket, stats)["error"]["code"] == SERVER_NOT_INITIALIZED
        initialize = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": INIT_PARAMS})
        assert "result" in _ws_answer(websocket, initialize)
        cases = [
            ("{not json", None, PARSE_ERROR),
            (json.dumps({"id": 3, "method": STATS}), 3, INVALID_REQUEST),
            (json.dumps([1, 2]), None, INVALID_REQUEST),
            (json.dumps({"jsonrpc": "2.0", "id": 4, "method": "codescaler/nothing"}), 4, METHOD_NOT_FOUND),
        ]
        for text, answer_id, code in cases:
            answer = _ws_answer(websocket, text)
            assert (answer["id"], answer["error"]["code"]) == (answer_id, code), answer
        assert "result" in _ws_answer(websocket, json.dumps({"jsonrpc": "2.0", "id": 5, "method": STATS}))
        assert "result" in _ws_answer(
            websocket, json.dumps({"jsonrpc": "2.0", "id": 6, "method": "shutdown"})
        )
        answer = _ws_answer(websocket, json.dumps({"jsonrpc": "2.0", "id": 7, "method": STATS}))
        assert (answer["id"], answer["error"]["code"]) == (7, INVALID_REQUEST)


def test_websocket_frame_over_the_limit_closes_only_that_connection(ws_url: str):
    """Websocket frames cannot desynchronise, so an oversized one is refused by the websocket layer
    (1009, before it is buffered); other connections go on."""
    with ws_connect(ws_url, max_size=None) as other, ws_connect(ws_url, max_size=None) as websocket:
        websocket.send("x" * (DEFAULT_MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                websocket.recv(timeout=TIMEOUT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT_PARAMS})
        assert "result" in _ws_answer(other, initialize)


def test_the_message_size_limit_is_a_setting(tmp_path: Path):
    """`server.max_message_bytes` from the config file reaches the reader: a bigger message is skipped and
    answered with Invalid Request, a smaller one still works."""
    config = tmp_path / "config.toml"
    config.write_text("[server]\nmax_message_bytes = 2000\n")
    client = RawLspClient([CODESCALER, "lsp", "--config", str(config)], env=SERVER_ENV)
    try:
        client.request("initialize", INIT_PARAMS, timeout_s=TIMEOUT_S)
        big = frame({"jsonrpc": "2.0", "id": "big", "method": STATS, "params": {"pad": "x" * 3000}})
        assert errors(answers_to(client, big)) == [(None, INVALID_REQUEST)]
        assert_still_serving(client)
    finally:
        client.close()
