"""`codescaler serve` against whatever a careless or hostile client sends: property-based, on a real process.

For any JSON value and any frame: exactly one answer per message that is not a cancel, with the message's
id when it has a valid one (else null); the connection stays open (a request sent after the bad one is
answered on it); the server stays up and its memory flat.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from tests.test_serve import DOCUMENT, TOKEN, start_server, stop_server

INT64 = st.integers(-(2**63), 2**63 - 1)
SCALARS = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["id", "type", "document", "problem", "language", "n", "max_new_tokens", "temperature", "top_p",
          "seed", "top_k", "threshold", "line_mode", "shaping", "question", "candidates"]  # fmt: skip
VALUES = {
    "type": st.sampled_from(["rank", "score", "cancel", "teleport"]) | JSON,
    "id": st.text(max_size=10) | INT64 | st.floats(allow_nan=False, allow_infinity=False) | JSON,
    "document": st.fixed_dictionaries(
        {"text": st.just(DOCUMENT["text"])},
        optional={
            "offset": INT64 | JSON,
            "line": st.integers(-2, 6),
            "character": st.integers(-2, 20),
            "language": st.sampled_from(["python", "cobol"]) | JSON,
        },
    )
    | JSON,
    "problem": st.text(max_size=30) | JSON,
    "n": st.integers(-2, 12) | JSON,
    "max_new_tokens": st.integers(-2, 10) | JSON,
    "temperature": st.floats(-2, 1e308, allow_nan=False) | JSON,
    "top_p": st.floats(-1, 2, allow_nan=False) | JSON,
    "seed": st.integers(-1, 2**64) | JSON,
    "top_k": st.integers(-5, 4) | JSON,
    "line_mode": st.sampled_from(["auto", "single", "multi", "both"]) | JSON,
    "candidates": st.lists(st.fixed_dictionaries({"code": st.text(max_size=20)}) | JSON, max_size=3) | JSON,
}
REQUESTS = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6).flatmap(
    lambda base: st.fixed_dictionaries({}, optional={key: VALUES.get(key, JSON) for key in FIELDS}).map(
        lambda chosen: {**base, **chosen}
    )
)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def fuzzed_engine(tiny_models, tmp_path_factory):
    process, port, log = start_server(
        tiny_models, tmp_path_factory.mktemp("fuzz"), "--max-new-tokens", "8", "--workers", "2"
    )
    yield process, f"ws://127.0.0.1:{port}"
    stop_server(process, log)


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def expected_id(value: object) -> object:
    """The id an answer must carry: the message's, when it is a string or a number."""
    request_id = value.get("id") if isinstance(value, dict) else None
    valid = isinstance(request_id, str | int | float) and not isinstance(request_id, bool)
    return request_id if valid else None


def exchange(url: str, frame: str | bytes) -> list[dict]:
    """Send one frame, then a known-good request on the same connection; every answer until that one's."""
    with connect(url, additional_headers=HEADERS, max_size=None) as ws:
        ws.send(frame)
        ws.send(json.dumps({"id": "sentinel", "type": "score", "question": "q", "candidates": []}))
        answers = []
        while True:
            answer = json.loads(ws.recv(timeout=60))
            if answer.get("id") == "sentinel" and answer.get("type") == "result":
                break
            answers.append(answer)
        while _still_owed(frame, answers):  # a rank may finish after the sentinel: wait for it
            answers.append(json.loads(ws.recv(timeout=60)))
    return answers


def _still_owed(frame: str | bytes, answers: list[dict]) -> bool:
    message = _parsed(frame)
    owed = (
        0
        if isinstance(message, dict) and message.get("type") == "cancel" and expected_id(message) is not None
        else 1
    )
    return len(answers) < owed


def _parsed(frame: str | bytes) -> object:
    try:
        return json.loads(frame)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


FUZZ = settings(
    max_examples=600, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)  # fmt: skip


def check_answers(frame: str | bytes, answers: list[dict]) -> None:
    message = _parsed(frame)
    is_cancel = (
        isinstance(message, dict) and message.get("type") == "cancel" and expected_id(message) is not None
    )
    if is_cancel:
        assert answers == [], answers  # a cancel is never answered, even for an unknown id
        return
    assert len(answers) == 1, answers  # exactly one answer per message
    (answer,) = answers
    assert answer["type"] in ("result", "error"), answer
    event(f"answer: {answer['type']}")
    want = expected_id(message) if answer["type"] == "result" or answer["id"] is not None else None
    assert answer["id"] == want or (isinstance(want, float) and math.isclose(answer["id"], want)), answer
    if answer["type"] == "error":
        assert answer["error"] and "\n" not in answer["error"], answer  # one line
        assert not answer["error"].startswith("internal error"), answer  # bad input is not a crash


@FUZZ
@given(message=REQUESTS | JSON)
def test_any_json_message_gets_exactly_one_answer_and_keeps_the_connection(fuzzed_engine, message):
    _, url = fuzzed_engine
    frame = json.dumps(message)
    check_answers(frame, exchange(url, frame))


@settings(FUZZ, max_examples=300)
@given(
    frame=st.binary(max_size=200)
    | st.text(max_size=200)
    | REQUESTS.map(lambda m: json.dumps(m)[: len(json.dumps(m)) // 2])
)
def test_any_frame_gets_an_answer_and_keeps_the_connection(fuzzed_engine, frame):
    _, url = fuzzed_engine
    answers = exchange(url, frame)
    check_answers(frame, answers)


def test_the_server_stays_up_and_its_memory_flat(fuzzed_engine):
    """After the fuzz tests above (same module, same process): a burst of bad messages leaves the
    resident memory where it was."""
    process, url = fuzzed_engine
    bad = [json.dumps({"id": i, "type": "rank", "problem": "x", "top_p": 2}) for i in range(2000)]
    exchange(url, bad[0])  # warm
    before = rss_bytes(process.pid)
    with connect(url, additional_headers=HEADERS, max_size=None) as ws:
        for round_ in range(5):
            for frame in bad:
                ws.send(frame)
            for _ in bad:
                assert json.loads(ws.recv(timeout=60))["type"] == "error"
            if round_ == 0:
                before = rss_bytes(process.pid)  # allocator warm after the first round
    after = rss_bytes(process.pid)
    assert process.poll() is None
    assert httpx.get(url.replace("ws://", "http://") + "/health").status_code == 200
    assert after - before < 20 * 2**20, (before, after)  # 8,000 bad requests later: under 20 MiB more
