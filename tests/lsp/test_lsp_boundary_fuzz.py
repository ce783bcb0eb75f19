"""Property-based fuzzing of the JSON-RPC boundary of a real `codescaler lsp` process, over stdio and TCP.

One server session per transport takes every generated case, as an editor session would take a stream of
mistakes: a state that one case breaks (a deaf reader, a half-read frame) fails the cases after it. The
bytes of a case are written in generated pieces, so frames also arrive split at arbitrary points.

Properties:
* after any garbage (broken header blocks, bad Content-Length values, bodies too long or too short,
  random bytes, JSON values that are not requests), a well-formed request gets exactly one answer with its
  id, and everything the garbage got is an error with id null (the garbage carries no readable id);
* a body that is not JSON gets exactly one Parse error (-32700) with id null;
* a JSON value that is not a request object gets exactly one Invalid Request (-32600), with its id when it
  is an integer or a string, else with id null;
* well-formed requests with garbage between them each get exactly one answer: a result for
  `codescaler/stats`, Method Not Found (-32601) for unknown methods and for notifications' methods sent as
  requests, a result or Invalid Params (-32602) for `workspace/executeCommand` with generated params.

Hypothesis runs derandomized (the same cases on every run, in CI too) with a bounded number of examples;
`pytest --hypothesis-show-statistics` prints how many ran. No models are loaded: the session is initialized
but never sent `initialized` (which starts the engine), and no case can send it: generated method names are
never lifecycle methods, and garbage JSON objects never have a "method", "id", "jsonrpc", "result" or
"error" member.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import free_port, stop_process_group
from tests.lsp.conftest import CODESCALER, SERVER_ENV
from tests.lsp.raw_client import RawLspClient, frame, start_listening

pytestmark = pytest.mark.slow
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
STATS = "codescaler/stats"
TIMEOUT_S = 30  # hang detection only
RESERVED = {"jsonrpc", "id", "method", "params", "result", "error"}
_ids = itertools.count(1)

_FUZZ = settings(
    deadline=None,  # a real process answers: timing varies, hangs are caught by TIMEOUT_S
    derandomize=True,  # the same cases on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def fuzz(examples: int) -> settings:
    return settings(_FUZZ, max_examples=examples)


@pytest.fixture(scope="module", params=["stdio", "tcp"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RawLspClient]:
    """One initialized session for all cases: a `codescaler lsp` process over stdio, or a connection to a
    `codescaler lsp --tcp` process. It must be alive and must never have written a broken frame."""
    process = None
    if request.param == "stdio":
        client = RawLspClient([CODESCALER, "lsp"], env=SERVER_ENV)
    else:
        port = free_port()
        log = tmp_path_factory.mktemp("fuzz-tcp") / "lsp.log"
        process = start_listening([CODESCALER, "lsp", "--tcp", "--port", str(port)], SERVER_ENV, log)
        client = RawLspClient.tcp("127.0.0.1", port)
    try:
        reply = client.request(
            "initialize", {"processId": None, "rootUri": None, "capabilities": {}}, TIMEOUT_S
        )
        assert "capabilities" in reply["result"], reply
        yield client
        assert client.read_error is None, f"the server wrote something unreadable: {client.read_error!r}"
        assert not client.ended.is_set(), "the server closed the session"
        assert "result" in client.request(STATS, None, TIMEOUT_S)
    finally:
        code = client.close()
        if process is not None:
            alive = process.poll() is None
            stop_process_group(process)
            assert alive, "the TCP server died"
        else:
            assert code == 0, b"".join(client.stderr).decode(errors="replace")[-4000:]


# strategies ------------------------------------------------------------------------------------------

_keys = st.text(max_size=10).filter(lambda key: key not in RESERVED)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
not_a_string_or_int = json_values.filter(lambda value: type(value) not in (str, int))

BAD_LENGTHS = [
    b"abc",
    b"-1",
    b"1e9",
    b"",
    b" ",
    b"0x10",
    b"+5",
    b"1.5",
    b"9" * 30,
    b"1000000000",
    b"4294967296",
]


@st.composite
def broken_frames(draw: st.DrawFn) -> bytes:
    """A header block gone wrong in any way, then a body: bad or unusable lengths (too long, too short),
    misspelt or missing names, other headers, wrong or missing line ends and blank line."""
    body = draw(st.one_of(json_values.map(lambda value: json.dumps(value).encode()), st.binary(max_size=120)))
    length = draw(
        st.one_of(
            st.sampled_from(BAD_LENGTHS),
            st.integers(0, len(body) + 200).map(lambda n: b"%d" % n),  # too short, exact, too long
            st.binary(max_size=8),
        )
    )
    name = draw(
        st.sampled_from(
            [b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Content-Lenght", b"Content-Type"]
        )
    )
    others = draw(
        st.lists(
            st.sampled_from(
                [b"Content-Type: application/vscode-jsonrpc; charset=utf-8", b"X-Other: 1", b"no colon"]
            )
            | st.binary(max_size=20),
            max_size=2,
        )
    )
    lines = draw(st.permutations([name + b": " + length, *others]))
    end = draw(st.sampled_from([b"\r\n", b"\n", b"\r", b""]))
    blank = draw(st.sampled_from([b"\r\n", b"\n", b""]))
    return end.join(lines) + end + blank + body


garbage_pieces = st.one_of(
    broken_frames(),
    st.binary(max_size=200),
    json_values.map(frame),  # well framed, but no JSON value here is a request
    st.sampled_from([b"\r\n", b"Content-Length: ", b"Content-Length: 12\r\n", b"Content-Length: 5\r\n\r\n"]),
)
garbage = st.lists(garbage_pieces, min_size=1, max_size=4).map(b"".join)
cuts = st.lists(st.floats(0, 1), max_size=3)


def request_id(as_text: bool) -> int | str:
    number = next(_ids)
    return f"req-{number}" if as_text else number


@st.composite
def not_requests(draw: st.DrawFn) -> tuple[Any, int | str | None]:
    """(a JSON value that is not a valid request object, the id its Invalid Request answer must carry)."""
    answer_id = request_id(draw(st.booleans()))
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": answer_id, "method": STATS}
    kind = draw(
        st.sampled_from(["not-an-object", "jsonrpc", "no-method", "method", "id", "params", "result"])
    )
    if kind == "not-an-object":
        return draw(json_values.filter(lambda value: not isinstance(value, dict))), None
    if kind == "jsonrpc":
        wrong = draw(st.none() | json_values.filter(lambda value: value != "2.0"))
        if wrong is None:
            del message["jsonrpc"]
        else:
            message["jsonrpc"] = wrong
    elif kind == "no-method":
        del message["method"]
        message.update(draw(st.dictionaries(_keys, json_values, max_size=3)))
    elif kind == "method":
        message["method"] = draw(json_values.filter(lambda value: not isinstance(value, str)))
    elif kind == "id":
        message["id"] = draw(not_a_string_or_int)
        answer_id = None
    elif kind == "params":
        message["params"] = draw(st.booleans() | st.integers() | st.text(max_size=10))
        if draw(st.booleans()):  # a notification with bad params is answered all the same, with id null
            del message["id"]
            answer_id = None
    else:
        message[draw(st.sampled_from(["result", "error"]))] = draw(json_values)
    return message, answer_id


def not_json(body: bytes) -> bool:
    """What the server must refuse as not JSON: not utf-8, not JSON text, or NaN/Infinity."""
    try:
        json.loads(body.decode("utf-8"), parse_constant=lambda name: 1 / 0)
    except (ValueError, ZeroDivisionError, RecursionError):
        return True
    return False


# the client side -------------------------------------------------------------------------------------


def send_in_pieces(client: RawLspClient, data: bytes, fractions: list[float]) -> None:
    points = sorted({int(len(data) * fraction) for fraction in fractions} | {0, len(data)})
    for start, end in itertools.pairwise(points):
        client.send_raw(data[start:end])


def exchange(client: RawLspClient, data: bytes, fractions: list[float]) -> list[dict]:
    """Send `data` (in pieces), then a synchronous request as a barrier: every answer before the
    barrier's, which must come and be a result."""
    barrier = request_id(True)
    send_in_pieces(client, data + frame({"jsonrpc": "2.0", "id": barrier, "method": STATS}), fractions)
    answers = client.collect(barrier, TIMEOUT_S)
    assert "result" in answers[-1], answers[-1]
    return answers[:-1]


def stats_frame(answer_id: int | str) -> bytes:
    return frame({"jsonrpc": "2.0", "id": answer_id, "method": STATS})


def assert_garbage_answers(answers: list[dict]) -> None:
    for answer in answers:
        assert answer.get("id", "missing") is None, answer
        assert answer["error"]["code"] in (PARSE_ERROR, INVALID_REQUEST), answer


# properties ------------------------------------------------------------------------------------------


@fuzz(2000)
@given(junk=garbage, fractions=cuts)
def test_after_any_garbage_a_request_gets_exactly_one_answer(server: RawLspClient, junk: bytes, fractions):
    probe = request_id(True)
    answers = exchange(server, junk + stats_frame(probe), fractions)
    mine = [answer for answer in answers if answer.get("id") == probe]
    assert len(mine) == 1 and "result" in mine[0], answers
    assert_garbage_answers([answer for answer in answers if answer.get("id") != probe])


@fuzz(1000)
@given(body=st.binary(max_size=300).filter(lambda body: b"content-" not in body.lower()).filter(not_json))
def test_a_body_that_is_not_json_gets_one_parse_error(server: RawLspClient, body: bytes):
    answers = exchange(server, b"Content-Length: %d\r\n\r\n" % len(body) + body, [])
    assert [(answer["id"], answer["error"]["code"]) for answer in answers] == [(None, PARSE_ERROR)], answers


@fuzz(1000)
@given(case=not_requests())
def test_a_value_that_is_not_a_request_gets_one_invalid_request(server: RawLspClient, case):
    message, answer_id = case
    answers = exchange(server, frame(message), [])
    assert [(answer["id"], answer["error"]["code"]) for answer in answers] == [
        (answer_id, INVALID_REQUEST)
    ], (
        message,
        answers,
    )


_method_names = st.text(min_size=1, max_size=15).map(lambda name: f"fuzz/{name}")
# Sent as requests, these are methods the server does not have either (lsprotocol types them as
# notifications, which pygls would run without ever answering): -32601 whatever the params.
_notification_names = st.sampled_from(
    ["$/fuzz", "$/cancelRequest", "$/setTrace", "textDocument/didClose", "textDocument/didSave"]
)
_requests = st.one_of(
    st.tuples(
        st.just(STATS),
        st.none() | st.dictionaries(_keys, json_values, max_size=3) | st.lists(json_values, max_size=3),
    ),
    st.tuples(
        _method_names | _notification_names,
        st.none() | json_values.filter(lambda v: isinstance(v, dict | list)),
    ),
    st.tuples(
        st.just("workspace/executeCommand"),
        st.dictionaries(_keys, json_values, max_size=2)
        | st.fixed_dictionaries(
            {"command": st.just("codescaler.accepted"), "arguments": st.lists(json_values, max_size=2)}
        ),
    ),
)


@fuzz(1000)
@given(
    requests=st.lists(st.tuples(_requests, st.booleans(), st.none() | garbage), min_size=1, max_size=5),
    fractions=cuts,
)
def test_every_well_formed_request_gets_exactly_one_answer(server: RawLspClient, requests, fractions):
    sent: dict[int | str, str] = {}
    data = b""
    for (method, params), text_id, junk in requests:
        answer_id = request_id(text_id)
        sent[answer_id] = method
        data += frame({"jsonrpc": "2.0", "id": answer_id, "method": method, "params": params}) + (junk or b"")
    answers = exchange(server, data, fractions)
    for answer_id, method in sent.items():
        mine = [answer for answer in answers if answer.get("id") == answer_id]
        assert len(mine) == 1, (method, answers)
        if method == STATS:
            assert "result" in mine[0], mine
        elif method == "workspace/executeCommand":
            assert "result" in mine[0] or mine[0]["error"]["code"] == INVALID_PARAMS, mine
        else:
            assert mine[0]["error"]["code"] == METHOD_NOT_FOUND, mine
    assert_garbage_answers([answer for answer in answers if answer.get("id") not in sent])
