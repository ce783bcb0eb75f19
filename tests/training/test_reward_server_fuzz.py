"""`codescaler reward-server` against whatever a careless or hostile client sends: property-based, on a
real server process with the tiny reward model.

* Any JSON value as the body of POST /get_reward: a 200 with one reward per query exactly when the body is
  a valid OpenRLHF request (judged here by an independent statement of the rules), else a 4xx whose body is
  `{"error": one line}`; never a 5xx, never a dropped connection.
* Any raw bytes as a request (garbage request lines, bad or lying Content-Length values, broken chunked
  bodies, non-UTF-8 headers, wrong tokens): an HTTP answer that is not a 5xx, or a close, within the
  server's time limits; and /health still answers afterwards.

The examples are derandomized and the database is off, so CI runs the same cases every time; the case
counts and times are in `pytest --hypothesis-show-statistics`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.training.test_reward_server_limits import (
    AUTH,
    BROKEN,
    GOOD,
    HANG_S,
    PROMPT,
    RewardServer,
    raw_exchange,
    serving,
)

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONE_SURROGATES = st.sampled_from(["\ud800", "a\udfff", "\udbff\udc00\ud800"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.text(st.sampled_from('[]{}"\\,:a'), max_size=12)  # JSON's own syntax inside strings
    | LONE_SURROGATES
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
TEXTS = st.sampled_from([PROMPT, "", "x", GOOD, BROKEN, PROMPT + GOOD, PROMPT + BROKEN]) | st.text(
    max_size=40
)


@st.composite
def openrlhf_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies close to OpenRLHF's request, each field sometimes right, sometimes wrong in one way."""
    n = draw(st.integers(0, 4))
    prompts = draw(st.lists(TEXTS, min_size=n, max_size=n))
    responses = draw(st.lists(TEXTS, min_size=n, max_size=n))
    body: dict[str, Any] = {"query": [p + r for p, r in zip(prompts, responses, strict=True)]}
    query_kind = draw(st.sampled_from(["ok", "ok", "ok", "other", "one_bad_item", "missing"]))
    if query_kind == "other":
        body["query"] = draw(JSON)
    elif query_kind == "one_bad_item" and n:
        body["query"][draw(st.integers(0, n - 1))] = draw(JSON | LONE_SURROGATES)
    elif query_kind == "missing":
        del body["query"]
    prompt_kind = draw(st.sampled_from(["list", "list", "absent", "null", "other", "wrong_length"]))
    if prompt_kind == "list":
        body["prompts"] = prompts
    elif prompt_kind == "null":
        body["prompts"] = None
    elif prompt_kind == "other":
        body["prompts"] = draw(JSON)
    elif prompt_kind == "wrong_length":
        body["prompts"] = [*prompts, "extra"]
    label_kind = draw(st.sampled_from(["strings", "mixed", "absent", "null", "other", "wrong_length"]))
    if label_kind == "strings":
        body["labels"] = draw(st.lists(st.text(max_size=30), min_size=n, max_size=n))
    elif label_kind == "mixed":
        body["labels"] = draw(st.lists(JSON, min_size=n, max_size=n))
    elif label_kind == "null":
        body["labels"] = None
    elif label_kind == "other":
        body["labels"] = draw(JSON)
    elif label_kind == "wrong_length":
        body["labels"] = draw(st.lists(st.text(max_size=5), min_size=n + 1, max_size=n + 2))
    body.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
    return body


def is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_request(body: Any) -> bool:
    """OpenRLHF's request as the docs state it (docs/training.md), written independently of the server:
    `query` a list of text; `prompts` null/absent or as many texts; `labels` null/absent or a list of as
    many items, any string among them valid Unicode."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), list):
        return False
    queries = body["query"]
    if not all(is_text(q) for q in queries):
        return False
    prompts, labels = body.get("prompts"), body.get("labels")
    if prompts is not None and not (isinstance(prompts, list) and len(prompts) == len(queries)):
        return False
    if prompts is not None and not all(is_text(p) for p in prompts):
        return False
    if labels is not None and not (isinstance(labels, list) and len(labels) == len(queries)):
        return False
    return labels is None or all(is_text(label) for label in labels if isinstance(label, str))


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@pytest.fixture(scope="module")
def fuzz_server(tiny_reward: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RewardServer]:
    folder = tmp_path_factory.mktemp("reward-server-fuzz")
    yield from serving(tiny_reward, folder, read_timeout=1, idle_timeout=2, max_connections=8)


@pytest.fixture(scope="module")
def client(fuzz_server: RewardServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.url, headers=AUTH, timeout=HANG_S) as session:
        yield session


@settings(FUZZ, max_examples=1500)
@given(body=JSON | openrlhf_bodies())
def test_any_json_body_gets_rewards_or_a_one_line_4xx(
    fuzz_server: RewardServer, client: httpx.Client, body: Any
) -> None:
    data = json.dumps(
        body
    ).encode()  # lone surrogates travel as \ud800 escapes, as any JSON encoder sends them
    reply = client.post("/get_reward", content=data, headers={"Content-Type": "application/json"})
    event(f"status {reply.status_code}")
    expected_ok = valid_request(body) and depth(body) <= 64
    if reply.status_code == 200:
        assert expected_ok, body
        answer = reply.json()
        rewards = answer["rewards"]
        assert len(rewards) == len(body["query"]) and answer["scores"] == rewards
        assert all(isinstance(r, float) and r >= 0 for r in rewards)
        assert answer["extra_logs"]["valid"] == [float(r > 0) for r in rewards]
    else:
        assert 400 <= reply.status_code < 500 and not expected_ok, (reply.status_code, reply.text, body)
        error = reply.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error


GOOD_LINES = [b"POST /get_reward HTTP/1.1", b"POST /get_reward HTTP/1.0", b"GET /health HTTP/1.1"]
ODD_LINES = [
    b"POST /get_reward?x=1 HTTP/1.1",
    b"HEAD /health HTTP/1.1",
    b"DELETE /health HTTP/1.1",
    b"GET /get_reward HTTP/1.1",
    b"POST http://x/get_reward HTTP/1.1",
    b"POST * HTTP/1.1",
    b"POST /%zz%00/../get_reward HTTP/1.1",
    b"GET / HTTP/9.9",
    b"POST  HTTP/1.1",
    b"\x16\x03\x01\x02\x00\x01",
    b"",
]


def mostly(
    common: st.SearchStrategy[bytes], rare: st.SearchStrategy[bytes], one_in: int
) -> st.SearchStrategy[bytes]:
    """`rare` about once in `one_in` draws, else `common` (`a | b` would draw each half the time)."""
    return st.integers(0, one_in - 1).flatmap(lambda i: rare if i == 0 else common)


REQUEST_LINES = mostly(st.sampled_from(GOOD_LINES * 3 + ODD_LINES), st.binary(max_size=40), 8)
BAD_CONTENT_LENGTHS = [b"abc", b"-1", b"1e3", b" 12", b"0x10", b"+5", b"", b"4294967296",
                       b"18446744073709551616", b"99999999999999999999999999", b"5, 5", b"2000000"]  # fmt: skip
AUTHORIZATION = mostly(
    st.sampled_from(
        [b"Authorization: Bearer t0k"] * 6
        + [b"Authorization: Bearer wrong", b"Authorization: t0k", b"Authorization:", b""]
    ),
    st.binary(max_size=20).map(lambda b: b"Authorization: Bearer " + b),
    8,
)
EXTRA_HEADERS = mostly(st.sampled_from(
    [b"Content-Encoding: gzip", b"Expect: 100-continue", b"Connection: close", b"Connection: keep-alive",
     b"Content-Type: application/json", b"Transfer-Encoding: x", b"Transfer-Encoding: gzip, chunked",
     b"X-A: b", b"X-A", b": empty name", b"X-A: \xff\xfe"]
), st.binary(max_size=40), 4)  # fmt: skip
VALID_BODY = json.dumps({"query": [PROMPT + GOOD], "prompts": [PROMPT]}).encode()
BODIES = mostly(
    st.sampled_from([VALID_BODY] * 3 + [b"{}", b'{"query": 5}', b"[" * 100, b""]), st.binary(max_size=300), 4
)


def chunked(body: bytes, sizes: list[int]) -> bytes:
    """`body` in chunked transfer encoding, cut at `sizes`."""
    out, rest = b"", body
    for size in [*sizes, len(body)]:
        piece, rest = rest[:size], rest[size:]
        if piece:
            out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """Mostly well-formed requests with one or two things wrong (a wholly random request is refused at
    its first byte and tests nothing deeper), and sometimes pure garbage."""
    half_close = draw(st.integers(0, 4)) == 0  # aiohttp closes on a client's FIN without answering
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300)), half_close
    line = draw(REQUEST_LINES)
    body = draw(BODIES)
    headers = [b"Host: t", draw(AUTHORIZATION)]
    framing = draw(
        st.sampled_from(
            ["exact"] * 6 + ["none", "bad", "short", "long", "two", "chunked", "bad_chunks", "chunked"]
        )
    )
    if framing == "exact":
        headers.append(b"Content-Length: %d" % len(body))
    elif framing == "bad":
        headers.append(b"Content-Length: " + draw(st.sampled_from(BAD_CONTENT_LENGTHS)))
    elif framing == "short":  # promises more than it sends: the body deadline must end it
        headers.append(b"Content-Length: %d" % (len(body) + draw(st.integers(1, 5000))))
    elif framing == "long":  # sends more than it promises: the rest is a second (bad) request
        headers.append(b"Content-Length: %d" % draw(st.integers(0, len(body))))
    elif framing == "two":
        headers += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % draw(st.integers(0, 999))]
    elif framing == "chunked":
        headers.append(b"Transfer-Encoding: chunked")
        body = chunked(body, draw(st.lists(st.integers(1, 64), max_size=4)))
    elif framing == "bad_chunks":
        headers.append(b"Transfer-Encoding: chunked")
        body = draw(st.sampled_from([b"zz\r\n", b"ffffffffffffffffff\r\n", b"5\r\nabc", b"-1\r\n"])) + body
    headers += draw(st.lists(EXTRA_HEADERS, max_size=2))
    headers = draw(st.permutations(headers))
    separator = draw(st.sampled_from([b"\r\n"] * 9 + [b"\n"]))
    end = draw(st.sampled_from([separator * 2] * 8 + [b"", separator]))  # sometimes the headers never end
    event(f"framing {framing}")
    return line + separator + separator.join(h for h in headers if h) + end + body, half_close


@settings(FUZZ, max_examples=300)
@given(request=raw_requests())
def test_raw_bytes_get_an_answer_or_a_close_in_time(
    fuzz_server: RewardServer, request: tuple[bytes, bool]
) -> None:
    data, half_close = request
    # Headers must be complete within the idle timeout, the body within the read timeout after them, and
    # the server lingers at most 2 s after an early answer: a close comes well within HANG_S.
    answer = raw_exchange(fuzz_server.port, data, half_close=half_close)
    event("answered" if answer.status is not None else "closed without an answer")
    if answer.status is not None:
        event(f"status {answer.status}")
        assert answer.status < 500, (answer.status, answer.body, data)
        if answer.status >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
            error = json.loads(answer.body)["error"]
            assert error and "\n" not in error
    else:
        assert answer.closed
    assert fuzz_server.healthy(), f"the server stopped answering /health after {data!r}"


@settings(FUZZ, max_examples=500)
@given(value=JSON, limit=st.integers(1, 8))
def test_nesting_check_measures_json_depth(value: Any, limit: int) -> None:
    """The pre-parse depth check (strings cut out, innermost pairs peeled) agrees with the depth of the
    parsed value, including brackets and quotes inside strings."""
    from training.reward_endpoint import BadRequest, check_nesting

    data = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if depth(value) > limit:
        with pytest.raises(BadRequest, match="deeper than"):
            check_nesting(data, limit)
    else:
        check_nesting(data, limit)
