"""What a real editor (or a broken one) can throw at `codescaler lsp`: malformed params, positions outside
the document, binary and huge documents, unopened documents, request floods and invalid JSON on the wire.

Every test asserts the server answered with an error response or an empty/valid result (never a crash or
a hang: every request has a timeout) and that it still serves a normal completion afterwards. One server
process serves the whole module, so a crash in one test also shows up in the ones after it.
"""

from __future__ import annotations

import itertools
import queue
import time
from collections import defaultdict

import pytest

from tests.lsp.conftest import CODESCALER, COMMENT_CURSOR, COMMENT_DOC, SERVER_ENV, editor_settings, units
from tests.lsp.raw_client import RawLspClient

pytestmark = pytest.mark.slow
TIMEOUT_S = 60
INLINE = "textDocument/inlineCompletion"
INVOKED, AUTOMATIC = 1, 2
INVALID_PARAMS, REQUEST_CANCELLED = -32602, -32800
LOG_MESSAGE = "window/logMessage"
_docs = itertools.count()


@pytest.fixture(scope="module")
def server(tiny_models):
    client = RawLspClient([CODESCALER, "lsp"], env=SERVER_ENV)
    try:
        reply = client.initialize(
            editor_settings(tiny_models), {"general": {"positionEncodings": ["utf-16"]}}
        )
        assert reply["result"]["capabilities"]["positionEncoding"] == "utf-16"
        # Warm-up: the first completion waits for the models, which load in the background.
        uri = open_doc(client)
        warm = client.request(INLINE, inline_params(uri, *comment_cursor()), timeout_s=120)
        assert warm["result"]["items"], warm
        yield client
    finally:
        code = client.close()
        stderr = b"".join(client.stderr).decode(errors="replace")[-4000:]
        assert code == 0, f"server exited with {code}:\n{stderr}"
        assert client.process.poll() is not None


# helpers ---------------------------------------------------------------------------------------------


def open_doc(client: RawLspClient, text: str = COMMENT_DOC, language: str = "python") -> str:
    """Open `text` plus a last line of its own, so no request is answered from another one's cache."""
    number = next(_docs)
    uri = f"file:///tmp/codescaler-robustness/doc{number}.py"
    client.open(uri, f"{text}\nunique_{number} = 0\n", language)
    return uri


def comment_cursor() -> tuple[int, int]:
    """COMMENT_CURSOR in utf-16 units."""
    line, column = COMMENT_CURSOR
    return line, units(COMMENT_DOC.split("\n")[line][:column], "utf-16")


def inline_params(uri: str, line, character, kind: int = INVOKED, selected: dict | None = None) -> dict:
    context: dict = {"triggerKind": kind}
    if selected is not None:
        context["selectedCompletionInfo"] = selected
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": context,
    }


def request(client: RawLspClient, method: str, params) -> tuple[dict, list[dict]]:
    """The reply to one request and the server's notifications sent while it was handled (the server
    writes them before the reply and the client reads in order, so they are all there)."""
    seen = len(client.notifications)
    reply = client.request(method, params, timeout_s=TIMEOUT_S)
    return reply, client.notifications[seen:]


def log_lines(notifications: list[dict]) -> list[str]:
    return [message["params"]["message"] for message in notifications if message["method"] == LOG_MESSAGE]


def stats(client: RawLspClient) -> dict:
    reply = client.request("codescaler/stats", None, timeout_s=TIMEOUT_S)
    return reply["result"]


def assert_alive(client: RawLspClient) -> None:
    stderr = b"".join(client.stderr).decode(errors="replace")[-4000:]
    assert client.process.poll() is None, f"server exited with {client.process.returncode}:\n{stderr}"


def assert_still_serving(client: RawLspClient) -> None:
    """A normal completion on a freshly opened COMMENT_DOC gets non-empty, well-placed items."""
    assert_alive(client)
    uri = open_doc(client)
    line, character = comment_cursor()
    reply = client.request(INLINE, inline_params(uri, line, character), timeout_s=TIMEOUT_S)
    assert "error" not in reply, reply
    items = reply["result"]["items"]
    assert items, reply
    for item in items:
        assert item["insertText"].strip()
        assert item["range"]["start"] == {"line": line, "character": character}
    assert_alive(client)


def assert_empty_with_log(reply: dict, notifications: list[dict], *phrases: str) -> None:
    assert "error" not in reply, reply
    assert reply["result"]["items"] == []
    lines = log_lines(notifications)
    assert any(all(phrase in line for phrase in phrases) for line in lines), (phrases, lines)


# 1. malformed params ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, params",
    [
        pytest.param(INLINE, {"textDocument": {"uri": "file:///x.py"}, "context": {"triggerKind": 1}},
                     id="inline-without-position"),
        pytest.param(INLINE, inline_params("file:///x.py", "a", 0), id="inline-line-not-a-number"),
        pytest.param(INLINE, {**inline_params("file:///x.py", 0, 0), "position": {"line": "a"}},
                     id="inline-position-line-a-only"),
        pytest.param(INLINE, inline_params("file:///x.py", -1, 0), id="inline-negative-line"),
        pytest.param("textDocument/completion", None, id="completion-params-null"),
        pytest.param(INLINE, inline_params("file:///x.py", 0, 1, selected={"range": [{"line": 0, "character": 1}] * 3,
                                                                            "text": "x"}),
                     id="inline-selected-range-of-three-positions"),
    ],
)  # fmt: skip
def test_malformed_params_get_an_invalid_params_error(server: RawLspClient, method, params):
    if params is not None and params.get("textDocument", {}).get("uri") == "file:///x.py":
        uri = open_doc(server)  # an open document, so only the malformed part can be what is wrong
        params = {**params, "textDocument": {"uri": uri}}
    request_id = server.request_id(method, params)
    reply = server.wait(request_id, timeout_s=TIMEOUT_S)
    assert reply["id"] == request_id
    assert "result" not in reply, reply
    assert reply["error"]["code"] == INVALID_PARAMS, reply
    assert method in reply["error"]["message"]
    assert_still_serving(server)


# 2. vscode-languageclient 9's array-shaped selectedCompletionInfo.range -----------------------------


def test_array_shaped_selected_completion_range_is_repaired_and_honoured(server: RawLspClient):
    text = "# note: wor\nx = 1\n"
    uri = open_doc(server, text)
    end = len("# note: wor")
    start = end - 3
    selected = {"range": [{"line": 0, "character": start}, {"line": 0, "character": end}], "text": "words"}
    reply, _ = request(server, INLINE, inline_params(uri, 0, end, selected=selected))
    assert "error" not in reply, reply
    items = reply["result"]["items"]
    assert items, reply
    for item in items:
        assert item["insertText"].startswith("words") and len(item["insertText"]) > len("words")
        assert item["range"] == {
            "start": {"line": 0, "character": start},
            "end": {"line": 0, "character": end},
        }
    assert_still_serving(server)


@pytest.mark.parametrize(
    "start, end",
    [((0, 0), (0, 2)), ((0, 15), (0, 10)), ((0, 10), (1, 1))],
    ids=["before-the-cursor", "reversed", "across-lines"],
)
def test_selected_range_not_holding_the_cursor_gets_empty_items(server: RawLspClient, start, end):
    uri = open_doc(server)
    line, character = comment_cursor()
    bounds = [{"line": at[0], "character": at[1]} for at in (start, end)]
    selected = {"range": bounds, "text": "x"}
    reply, notifications = request(server, INLINE, inline_params(uri, line, character, selected=selected))
    assert_empty_with_log(reply, notifications, f"{line}:{character}", "does not hold the cursor")
    assert_still_serving(server)


# 3. positions outside the document or inside a character ---------------------------------------------


def _bad_positions() -> list:
    first_line = COMMENT_DOC.split("\n")[0]
    before_emoji = first_line[: first_line.index("😀")]
    return [
        pytest.param(0, units(first_line, "utf-16") + 1, "past the end of line", id="past-end-of-line"),
        pytest.param(1000, 0, "outside the document", id="past-last-line"),
        pytest.param(0, units(before_emoji, "utf-16") + 1, "splits a character", id="inside-surrogate-pair"),
    ]


@pytest.mark.parametrize("line, character, why", _bad_positions())
def test_bad_position_gives_empty_items_and_a_log_line(server: RawLspClient, line, character, why):
    uri = open_doc(server)
    before = stats(server)
    reply, notifications = request(server, INLINE, inline_params(uri, line, character))
    assert_empty_with_log(reply, notifications, f"{line}:{character}", why)
    assert stats(server)["requests"] == before["requests"]  # rejected before reaching the engine
    assert_still_serving(server)


def test_emoji_boundaries_are_valid_positions(server: RawLspClient):
    """Control for the surrogate-pair case: right after the emoji is a real position."""
    first_line = COMMENT_DOC.split("\n")[0]
    after_emoji = first_line[: first_line.index("😀") + 1]
    uri = open_doc(server)
    reply, notifications = request(server, INLINE, inline_params(uri, 0, units(after_emoji, "utf-16")))
    assert "error" not in reply, reply
    assert not [line for line in log_lines(notifications) if "no completion at" in line]


# 4. unknown language ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["brainfuck", "plaintext", ""])
def test_unknown_language_gets_a_result(server: RawLspClient, language):
    uri = open_doc(server, language=language)
    reply, _ = request(server, INLINE, inline_params(uri, *comment_cursor()))
    assert "error" not in reply, reply
    assert isinstance(reply["result"]["items"], list)
    for item in reply["result"]["items"]:
        assert item["insertText"].strip()
    assert_still_serving(server)


# 5. binary, huge and big documents -------------------------------------------------------------------


def test_document_with_nul_bytes_gets_empty_items(server: RawLspClient):
    uri = open_doc(server, "# 日本語 😀 note: \x00\x00\nx = 1\n")
    reply, notifications = request(server, INLINE, inline_params(uri, *comment_cursor()))
    assert_empty_with_log(reply, notifications, uri, "binary")
    assert_still_serving(server)


def test_document_over_the_size_limit_gets_empty_items_quickly(server: RawLspClient):
    line = "value = 12345  # padding line for a huge document\n"
    text = COMMENT_DOC + line * (10_000_000 // len(line) + 1)
    assert len(text) > 10_000_000
    uri = open_doc(server, text)
    started = time.monotonic()
    reply, notifications = request(server, INLINE, inline_params(uri, *comment_cursor()))
    elapsed = time.monotonic() - started  # includes receiving and parsing the 10 MB didOpen
    assert_empty_with_log(reply, notifications, uri, "max_document_chars")
    assert elapsed < 15, elapsed
    assert_still_serving(server)


def test_big_document_under_the_limit_completes_in_the_middle(server: RawLspClient):
    line = "value = 12345  # padding line for a big document\n"
    half = line * (750_000 // len(line))
    text = half + COMMENT_DOC + half
    assert 1_400_000 < len(text) < 2_000_000
    uri = open_doc(server, text)
    cursor_line = half.count("\n") + COMMENT_CURSOR[0]
    character = comment_cursor()[1]
    started = time.monotonic()
    reply, notifications = request(server, INLINE, inline_params(uri, cursor_line, character))
    elapsed = time.monotonic() - started
    assert "error" not in reply, reply
    assert not [message for message in log_lines(notifications) if uri in message], notifications
    items = reply["result"]["items"]
    assert items, reply  # the window around the cursor is still a comment line: valid answers exist
    for item in items:
        assert item["range"]["start"] == {"line": cursor_line, "character": character}
    assert elapsed < TIMEOUT_S
    assert_still_serving(server)


# 6. a document that was never opened -----------------------------------------------------------------


def test_unopened_document_gets_empty_items(server: RawLspClient):
    uri = "file:///tmp/codescaler-robustness/never-opened.py"
    reply, notifications = request(server, INLINE, inline_params(uri, *comment_cursor()))
    assert_empty_with_log(reply, notifications, uri, "is not open")
    completion, _ = request(server, "textDocument/completion",
                            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})  # fmt: skip
    assert "error" not in completion, completion
    assert completion["result"]["items"] == []
    assert_still_serving(server)


# 7. a request flood ----------------------------------------------------------------------------------


def test_request_flood_answers_every_request_exactly_once(server: RawLspClient):
    main = open_doc(server)
    others = [open_doc(server) for _ in range(10)]
    line, character = comment_cursor()
    before = stats(server)
    ids, cancelled = [], set()
    for number in range(350):  # 300 for `main`, every 7th of them (50) for one of the others
        uri = others[number // 7 % 10] if number % 7 == 6 else main
        ids.append(server.request_id(INLINE, inline_params(uri, line, character, kind=AUTOMATIC)))
        if number % 10 == 0:  # an editor also cancels some of what it asked for
            cancelled.add(ids[-1])
            server.notify("$/cancelRequest", {"id": ids[-1]})
    replies: dict[int, list[dict]] = defaultdict(list)
    deadline = time.monotonic() + TIMEOUT_S
    wanted = set(ids)

    def drain(until) -> None:
        while not until():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no reply for {len(wanted - replies.keys())} of {len(ids)} requests"
            try:
                message = server.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            replies[message.get("id")].append(message)

    drain(lambda: wanted <= replies.keys())
    stats_id = server.request_id("codescaler/stats", None)
    drain(lambda: stats_id in replies)  # anything still sent for the flood came before this reply
    after = replies.pop(stats_id)[0]["result"]
    assert set(replies) == wanted, set(replies) - wanted
    for request_id, answers in replies.items():
        assert len(answers) == 1, answers
        answer = answers[0]
        if "error" in answer:
            assert answer["error"]["code"] == REQUEST_CANCELLED and request_id in cancelled, answer
        else:
            assert isinstance(answer["result"]["items"], list), answer
    assert after["superseded"] > before["superseded"]
    assert any("error" in answers[0] for answers in replies.values())  # cancels reach pending requests
    assert any(answers[0].get("result", {}).get("items") for answers in replies.values())
    for _ in range(100):  # the engine stops the work of every superseded or cancelled request
        if stats(server)["engine_service"]["in_flight"] == 0:
            break
        time.sleep(0.1)
    assert stats(server)["engine_service"]["in_flight"] == 0
    assert_still_serving(server)


# 7b. a document that is not valid Unicode--------------------------------------------------------------


def _open_lone_surrogate_doc(client: RawLspClient) -> str:
    """JSON can carry a lone surrogate (`\\ud800`), and editors whose strings are utf-16 can send one."""
    return open_doc(client, "# \ud800 note: \nx = 1\n")


def test_lone_surrogate_document_is_answered_and_survived(server: RawLspClient):
    uri = _open_lone_surrogate_doc(server)
    reply, _ = request(server, INLINE, inline_params(uri, 0, len("# \ud800 note: ")))
    assert "error" in reply or isinstance(reply["result"]["items"], list), reply
    assert_still_serving(server)


def test_lone_surrogate_document_gets_an_empty_answer_not_an_internal_error(server: RawLspClient):
    uri = _open_lone_surrogate_doc(server)
    reply, notifications = request(server, INLINE, inline_params(uri, 0, len("# \ud800 note: ")))
    assert "error" not in reply, reply["error"]["message"]
    assert reply["result"]["items"] == []
    assert log_lines(notifications)


# 8. invalid JSON on the wire -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{this is not json", b"\xff\xfe\x00garbage\x80", b"[1, 2, 3]", b'{"jsonrpc": "2.0", "id": 5}', b"null"],
    ids=["not-json", "not-utf8", "json-array", "no-method", "json-null"],
)
def test_invalid_json_on_the_wire_keeps_the_server_alive(server: RawLspClient, body: bytes):
    server.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    server.process.stdin.flush()
    assert_still_serving(server)


def test_invalid_json_gets_a_parse_error_response_and_no_popup(server: RawLspClient):
    while not server.inbox.empty():  # parse errors answered to earlier tests' frames
        server.inbox.get_nowait()
    seen = len(server.notifications)
    body = b"{this is not json"
    server.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    server.process.stdin.flush()
    stats(server)  # the server reads in order: whatever it answers to the frame comes before this reply
    popups = [message for message in server.notifications[seen:] if message["method"] == "window/showMessage"]
    answers = []
    while not server.inbox.empty():
        answers.append(server.inbox.get_nowait())
    assert [answer["error"]["code"] for answer in answers if answer.get("id") is None] == [-32700], answers
    assert not popups, popups
