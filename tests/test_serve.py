"""`codescaler serve` as a real process, driven by real websocket clients."""

import json
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest
from websockets.sync.client import connect

from engine.errors import CodescalerError
from engine.protocol import Candidate, Document, RankRequest, ScoreRequest
from engine.reward.transformers_backend import TransformersScorer
from engine.serve.client import RemoteRanker
from tests.conftest import CODESCALER, free_port
from tests.test_cli import one_line_error, run

TOKEN = "s3cret-token"
DOCUMENT = {
    "text": "def add(a, b):\n    return \n\nprint(add(1, 2))\n",
    "line": 1,
    "character": 11,
    "path": "add.py",
}


def start_server(tiny_models, tmp_path, *extra, port=None):
    port = port or free_port()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    log = open(tmp_path / f"serve-{port}.log", "w")  # noqa: SIM115 (closed by the fixture)
    process = subprocess.Popen(
        [CODESCALER, "serve", "--policy", str(tiny_models["policy"]), "--reward-model", str(tiny_models["reward"]),
         "--port", str(port), "--token-file", str(token_file), "--max-n", "8", "--max-payload-bytes", "20000",
         *extra],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, port, log
        except httpx.TransportError:
            time.sleep(0.5)
    raise RuntimeError("engine did not start")


def stop_server(process, log):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    log.close()


@pytest.fixture(scope="module")
def engine(tiny_models, tmp_path_factory):
    process, port, log = start_server(tiny_models, tmp_path_factory.mktemp("serve"), "--max-wait-ms", "300")
    yield f"ws://127.0.0.1:{port}"
    stop_server(process, log)


def test_start_up_lines_name_the_models_and_the_address(tiny_models, tmp_path):
    process, port, log = start_server(tiny_models, tmp_path)
    stop_server(process, log)
    lines = (tmp_path / f"serve-{port}.log").read_text().splitlines()
    loading = f"codescaler engine: loading models {tiny_models['policy']} + {tiny_models['reward']}"
    assert loading in lines and f"codescaler engine ready on ws://127.0.0.1:{port}" in lines
    assert lines.index(loading) < lines.index(f"codescaler engine ready on ws://127.0.0.1:{port}")


def test_graph_decode_warms_up_before_ready_and_serves_any_n(tiny_models, tmp_path):
    process, port, log = start_server(tiny_models, tmp_path, "--graph-decode")
    try:
        with RemoteRanker(f"ws://127.0.0.1:{port}", TOKEN) as client:
            replies = [
                client.rank(RankRequest(document=Document(**DOCUMENT), n=n, max_new_tokens=6, seed=1))
                for n in (8, 3, 8)
            ]
    finally:
        stop_server(process, log)
    assert [reply.generated for reply in replies] == [8, 3, 8]
    lines = (tmp_path / f"serve-{port}.log").read_text().splitlines()
    compiling = "codescaler engine: compiling graph decode for n=8 (about a minute on a GPU)"
    assert lines.index(compiling) < lines.index(f"codescaler engine ready on ws://127.0.0.1:{port}")


def stats(url):
    http = url.replace("ws://", "http://")
    return httpx.get(f"{http}/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()


def test_health_is_open_but_stats_and_requests_need_the_token(engine):
    http = engine.replace("ws://", "http://")
    assert httpx.get(f"{http}/health").text == "ok\n"
    assert httpx.get(f"{http}/stats").status_code == 401
    assert httpx.get(f"{http}/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "latency_p95_s" in stats(engine)
    with pytest.raises(CodescalerError, match="refused the connection \\(401\\): pass the engine's token"):
        RemoteRanker(engine)


def test_rank_at_a_cursor_and_for_a_problem(engine):
    with RemoteRanker(engine, TOKEN) as client:
        reply = client.rank(RankRequest(document=Document(**DOCUMENT), n=4, max_new_tokens=8, seed=1))
        problem = client.rank(RankRequest(problem="Add two numbers.", n=2, max_new_tokens=8))
    assert reply.generated == 4
    assert set(reply.timings) == {"generation", "cleaning", "validation", "scoring"}
    assert [item.rank for item in reply.items] == list(range(1, len(reply.items) + 1))
    assert problem.generated == 2


def test_score_matches_the_in_process_scorer(engine, tiny_reward):
    candidates = [
        Candidate(code="def add(a, b):\n    return a + b", language="python"),
        Candidate(code="def add(:", language="python"),
    ]
    with RemoteRanker(engine, TOKEN) as client:
        reply = client.score(ScoreRequest(question="Add two numbers.", candidates=candidates))
    first, second = reply.items
    expected = TransformersScorer.from_pretrained(str(tiny_reward)).score(
        [("Add two numbers.", candidates[0].code)]
    )
    assert first.score == pytest.approx(expected[0], abs=1e-5) and first.rank == 1
    assert second.valid is False and second.score is None and second.reward == 0.0


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "not a JSON message"),
        ("[1, 2]", "must be a JSON object"),
        (
            json.dumps({"id": 1, "type": "rank", "document": DOCUMENT, "n": 99}),
            "n=99 is over this server's limit of 8",
        ),
        (
            json.dumps({"id": 2, "type": "rank", "document": DOCUMENT, "max_new_tokens": "x"}),
            "max_new_tokens: expected `int`, got `str`",
        ),
        (json.dumps({"id": 3, "type": "rank", "document": {**DOCUMENT, "line": 40}}), "line 41 is outside"),
        (json.dumps({"id": 4, "type": "rank"}), "exactly one of 'document' or 'problem'"),
        (json.dumps({"id": 5, "type": "teleport"}), "unknown message type 'teleport'"),
        (json.dumps({"type": "rank", "problem": "x"}), "missing field 'id'"),
        (json.dumps({"id": {"a": 1}, "type": "rank", "problem": "x"}), "'id' must be a string or a number"),
        (json.dumps({"id": [1], "type": "cancel"}), "'id' must be a string or a number"),
        (
            json.dumps({"id": 8, "type": "rank", "problem": "x", "temperature": -1}),
            "temperature must be within 0..100",
        ),
        (
            json.dumps({"id": 9, "type": "rank", "problem": "x", "temperature": 1e308}),
            "temperature must be within",
        ),
        (
            json.dumps({"id": 10, "type": "rank", "problem": "x", "top_p": 2}),
            "top_p must be above 0 and at most 1",
        ),
        (json.dumps({"id": 11, "type": "rank", "problem": "x", "top_p": -0.5}), "top_p must be above 0"),
        (json.dumps({"id": 12, "type": "rank", "problem": "x", "top_k": -5}), "top_k must be at least 1"),
        (json.dumps({"id": 13, "type": "rank", "problem": "x", "seed": 2**64}), "seed must be a 64-bit"),
        (
            json.dumps({"id": 14, "type": "rank", "problem": "x", "line_mode": "both"}),
            "line_mode must be one of auto, single, multi",
        ),
        (json.dumps({"id": 15, "type": "rank", "problem": "x", "n": True}), "n: expected `int`, got `bool`"),
        (
            json.dumps({"id": 6, "type": "score", "question": "q", "candidates": [{"code": 1}]}),
            "candidates[0].code: expected `str`, got `int`",
        ),
        (json.dumps({"id": 7, "type": "rank", "problem": "x" * 30000}), "over the 20000-byte limit"),
    ],
)
def test_malformed_requests_get_one_clear_error_and_the_connection_survives(engine, message, error):
    with connect(engine, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send(message)
        reply = json.loads(ws.recv(timeout=60))
        assert reply["type"] == "error" and error in reply["error"], reply
        sent = json.loads(message) if message.startswith("{") and len(message) < 20000 else None
        readable = sent is not None and isinstance(sent.get("id"), int | str)  # else the answer's id is null
        assert reply["id"] == (sent["id"] if readable else None)
        ws.send(json.dumps({"id": "after", "type": "score", "question": "q", "candidates": []}))
        assert json.loads(ws.recv(timeout=60)) == {"id": "after", "type": "result", "items": []}


def test_cancel_stops_the_work_and_answers_once(engine):
    before = stats(engine)["cancelled"]
    with connect(engine, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        long = {
            "id": "long",
            "type": "rank",
            "document": DOCUMENT,
            "n": 8,
            "max_new_tokens": 400,
            "temperature": 1.0,
        }
        ws.send(json.dumps(long))
        time.sleep(0.5)
        started = time.monotonic()
        ws.send(json.dumps({"type": "cancel", "id": "long"}))
        reply = json.loads(ws.recv(timeout=120))
        assert reply == {"id": "long", "type": "cancelled"}
        assert time.monotonic() - started < 5  # generation stopped at the next token, not after 400
        ws.send(json.dumps({"id": "next", "type": "score", "question": "q", "candidates": []}))
        assert json.loads(ws.recv(timeout=60))["id"] == "next"  # nothing else arrived for "long"
    assert stats(engine)["cancelled"] == before + 1


def test_duplicate_in_flight_id_is_refused(engine):
    with connect(engine, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        request = {"id": "dup", "type": "rank", "document": DOCUMENT, "n": 2, "max_new_tokens": 60}
        ws.send(json.dumps(request))
        ws.send(json.dumps(request))
        replies = [json.loads(ws.recv(timeout=120)) for _ in range(2)]
    assert sorted(r["type"] for r in replies) == ["error", "result"]
    assert "already in flight" in next(r for r in replies if r["type"] == "error")["error"]


def test_reward_work_of_concurrent_clients_is_batched(engine):
    before = stats(engine)
    candidates = [Candidate(code=f"x = {i}", language="python") for i in range(3)]

    def client_run():
        with RemoteRanker(engine, TOKEN) as client:
            assert len(client.score(ScoreRequest(question="q", candidates=candidates)).items) == 3

    threads = [threading.Thread(target=client_run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = stats(engine)
    batches = after["batches"] - before["batches"]
    assert 1 <= batches < 6  # six requests shared fewer batches


def test_a_client_that_disconnects_mid_request_does_not_hurt_others(engine):
    ws = connect(engine, additional_headers={"Authorization": f"Bearer {TOKEN}"})
    ws.send(json.dumps({"id": "gone", "type": "rank", "document": DOCUMENT, "n": 8, "max_new_tokens": 300}))
    ws.close()
    with RemoteRanker(engine, TOKEN) as client:
        assert client.score(ScoreRequest(question="q", candidates=[])).items == []


def test_rank_command_through_the_engine(engine, tmp_path):
    path = tmp_path / "add.py"
    path.write_text(DOCUMENT["text"])
    result = run(CODESCALER, "rank", str(path), "--line", "2", "--col", "12", "--engine", engine, "--token", TOKEN,
                 "-n", "3", "--max-new-tokens", "6", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["generated"] == 3 and reply["cursor"] == {"line": 2, "column": 12}
    assert reply["items"] and reply["items"][0]["replaces"]["start"] == {"line": 2, "column": 12}
    one_line_error(
        run(CODESCALER, "rank", str(path), "--line", "2", "--col", "12", "--engine", engine), "401"
    )


def test_non_loopback_bind_requires_a_token(codescaler_cli, tiny_models):
    result = run(codescaler_cli, "serve", "--policy", str(tiny_models["policy"]), "--reward-model",
                 str(tiny_models["reward"]), "--host", "0.0.0.0")  # fmt: skip
    one_line_error(result, "binding 0.0.0.0 exposes the engine", "set a token")


def test_graceful_shutdown_finishes_in_flight_requests(tiny_models, tmp_path):
    process, port, log = start_server(tiny_models, tmp_path)
    try:
        with RemoteRanker(f"ws://127.0.0.1:{port}", TOKEN) as client:
            replies = []
            request = RankRequest(document=Document(**DOCUMENT), n=4, max_new_tokens=150)
            asking = threading.Thread(target=lambda: replies.append(client.rank(request)))
            asking.start()
            time.sleep(0.5)
            os.killpg(process.pid, signal.SIGTERM)
            asking.join(timeout=120)
        assert len(replies) == 1 and replies[0].generated == 4
        assert process.wait(timeout=60) == 0
    finally:
        stop_server(process, log)
