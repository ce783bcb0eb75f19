"""`codescaler reward-server` under careless and hostile clients: a real server process (the tiny reward
model) and real sockets. Each test names the limit it holds: the token before the body, the body deadline,
the idle timeout, the connection cap without a thread per connection, the body-size cap, strict field
validation, /health while the model works, and a clean exit on Ctrl-C.

Times here are generous bounds that only catch hangs; the assertions are about which answer comes.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import CODESCALER, free_port

TOKEN = "t0k"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROMPT = "<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```<|im_end|>"
BROKEN = "```python\ndef add(a, b) return\n```"
HANG_S = 20.0  # far beyond every limit the servers here are started with: reaching it means a hang


@dataclass
class RewardServer:
    """A running `codescaler reward-server` process."""

    process: subprocess.Popen
    port: int
    stdout: Path
    stderr: Path
    read_timeout_s: float
    idle_timeout_s: float
    max_connections: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def threads(self) -> int:
        """The process's thread count (from /proc): a thread per connection would show here."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        """Ctrl-C, as a user would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_reward_server(
    model: Path, folder: Path, read_timeout: float, idle_timeout: float, max_connections: int,
    max_body_mib: float = 1.0,
) -> RewardServer:  # fmt: skip
    """Start the server on a free port and wait for its ready line (its output goes to files, so a
    chatty server can never block on a full pipe)."""
    port = free_port()
    (folder / "token").write_text(TOKEN + "\n")
    stdout, stderr = folder / "stdout.log", folder / "stderr.log"
    command = [
        CODESCALER, "reward-server", "--reward-model", str(model), "--port", str(port),
        "--token-file", str(folder / "token"), "--read-timeout", str(read_timeout),
        "--idle-timeout", str(idle_timeout), "--max-connections", str(max_connections),
        "--max-body-mib", str(max_body_mib),
    ]  # fmt: skip
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
    server = RewardServer(process, port, stdout, stderr, read_timeout, idle_timeout, max_connections)
    ready = f"codescaler reward server on http://127.0.0.1:{port}/get_reward"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"reward-server exited with {process.returncode}:\n{stderr.read_text()[-3000:]}"
            )
        if ready in stdout.read_text() and server.healthy():
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"reward-server not ready after 240 s:\n{stderr.read_text()[-3000:]}")


@dataclass
class RawAnswer:
    """What a raw socket got back: the first final HTTP answer (status None: none), and whether the
    server then closed the connection."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    closed: bool
    elapsed_s: float


def raw_exchange(
    port: int, data: bytes, *, half_close: bool = False, wait_for_close: bool = False, limit_s: float = HANG_S
) -> RawAnswer:
    """Send `data` as is, read the first final answer (skipping 1xx) or the close, whichever comes first;
    with `wait_for_close`, keep reading until the server closes. Raises TimeoutError at `limit_s`."""
    start = time.monotonic()
    buffer = b""
    status: int | None = None
    headers: dict[str, str] = {}
    body = b""
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=limit_s) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server already answered and closed: read what it said
        while True:
            if status is None and b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                code = int(lines[0].split()[1])
                if 100 <= code < 200:
                    buffer = rest
                    continue
                status = code
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
                buffer = rest
            if status is not None and len(buffer) >= int(headers.get("content-length", "0")):
                body = buffer[: int(headers.get("content-length", "0"))]
                if not wait_for_close:
                    break
            remaining = limit_s - (time.monotonic() - start)
            if remaining <= 0:
                raise TimeoutError(f"no answer and no close after {limit_s} s (got {buffer[:200]!r})")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            except TimeoutError:
                raise TimeoutError(
                    f"no answer and no close after {limit_s} s (got {buffer[:200]!r})"
                ) from None
            if not chunk:
                closed = True
                break
            buffer += chunk
    return RawAnswer(status, headers, body, closed, time.monotonic() - start)


def one_line_error(answer_body: bytes) -> str:
    """The `error` of a JSON error answer, checked to be one line."""
    error = json.loads(answer_body)["error"]
    assert isinstance(error, str) and error and "\n" not in error
    return error


def serving(model: Path, folder: Path, **limits: float) -> Iterator[RewardServer]:
    """A reward server for a module's tests; it must stop cleanly and log no traceback."""
    running = start_reward_server(model, folder, **limits)  # type: ignore[arg-type]
    yield running
    assert running.stop() == 0, running.stderr.read_text()[-3000:]
    assert "Traceback" not in running.stderr.read_text()


@pytest.fixture(scope="module")
def server(tiny_reward: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RewardServer]:
    folder = tmp_path_factory.mktemp("reward-server-limits")
    yield from serving(tiny_reward, folder, read_timeout=2, idle_timeout=3, max_connections=4)


def settle(server: RewardServer) -> None:
    """Let connections of earlier tests end (the server lingers briefly after an early answer)."""
    time.sleep(2.5)
    assert server.healthy()


def test_connection_cap_without_a_thread_each(server: RewardServer) -> None:
    settle(server)
    cap = server.max_connections
    threads_before = server.threads()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(cap + 5)]
    try:
        time.sleep(0.5)
        assert server.threads() <= threads_before + 1  # not one per connection
        statuses: list[int | None] = []
        for sock in idle:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            sock.settimeout(HANG_S)
            try:
                statuses.append(int(sock.recv(65536).split()[1]))
            except (ConnectionResetError, IndexError):  # reset at accept, or closed without a word
                statuses.append(None)
        # The first `cap` are served, the next `cap` are told to retry, the rest were reset at accept.
        assert statuses.count(200) == cap
        assert statuses.count(503) == min(5, cap) and statuses.count(None) == len(idle) - cap - min(5, cap)
        assert server.threads() <= threads_before + 1
    finally:
        for sock in idle:
            sock.close()
    settle(server)  # the slots come back once the connections are gone


def test_busy_answer_is_json_with_retry_after(server: RewardServer) -> None:
    settle(server)
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(server.max_connections)]
    try:
        time.sleep(0.3)
        answer = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert answer.status == 503 and answer.headers.get("retry-after") == "1"
        assert "connection limit" in one_line_error(answer.body)
    finally:
        for sock in held:
            sock.close()
    settle(server)


def test_token_is_checked_before_the_body_is_read(server: RewardServer) -> None:
    # A body that never comes: reading it first would end in a 408 after the read timeout, not a 401.
    head = b"POST /get_reward HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer wrong\r\nContent-Length: 900000\r\n\r\n"
    answer = raw_exchange(server.port, head)
    assert answer.status == 401, answer
    assert "token" in one_line_error(answer.body)
    no_token = raw_exchange(server.port, head.replace(b"Authorization: Bearer wrong\r\n", b""))
    assert no_token.status == 401


def test_short_body_gets_408_and_a_close(server: RewardServer) -> None:
    head = b"POST /get_reward HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer t0k\r\nContent-Length: 100\r\n\r\n"
    answer = raw_exchange(server.port, head + b'{"query": ', wait_for_close=True)
    assert answer.status == 408 and answer.closed
    assert "did not arrive" in one_line_error(answer.body)
    assert answer.elapsed_s >= server.read_timeout_s * 0.9  # it did wait for the body, as long as allowed
    assert server.healthy()


def test_unfinished_headers_and_idle_connections_are_closed(server: RewardServer) -> None:
    # Headers that never end (slowloris) and a connection that says nothing: both closed, no answer owed.
    slow = raw_exchange(server.port, b"POST /get_reward HTTP/1.1\r\nHost: t\r\nContent-Len")
    assert slow.status is None and slow.closed
    silent = raw_exchange(server.port, b"")
    assert silent.status is None and silent.closed
    # After an answer, an idle keep-alive connection is closed too.
    kept = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", wait_for_close=True)
    assert kept.status == 200 and kept.closed and kept.elapsed_s >= server.idle_timeout_s * 0.9


def test_bad_content_length_values_get_400(server: RewardServer) -> None:
    for value in (b"abc", b"-1", b"1e3", b"99999999999999999999999999"):
        head = (
            b"POST /get_reward HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer t0k\r\nContent-Length: " + value
        )
        answer = raw_exchange(server.port, head + b"\r\n\r\n{}")
        assert answer.status == 400, (value, answer)
    assert server.healthy()


def test_body_over_the_limit_gets_413(server: RewardServer) -> None:
    declared = b"POST /get_reward HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer t0k\r\nContent-Length: 2000000\r\n\r\n"
    answer = raw_exchange(server.port, declared)  # refused from the header, before any body byte
    assert answer.status == 413 and "limit" in one_line_error(answer.body)
    chunked = httpx.post(
        f"{server.url}/get_reward", headers=AUTH, content=iter([b" " * 65536] * 20), timeout=HANG_S
    )
    assert chunked.status_code == 413 and "limit" in one_line_error(chunked.content)
    compressed = httpx.post(
        f"{server.url}/get_reward", headers={**AUTH, "Content-Encoding": "gzip"}, content=b"x"
    )
    assert compressed.status_code == 415


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b'{"query": ["a"], "labels": 5}', "'labels'"),
        (b'{"query": ["a"], "prompts": {"x": 1}}', "'prompts'"),
        (b'{"query": ["a", 3]}', "'query'[1]"),
        (b'{"query": "a"}', "'query'"),
        (b'{"prompts": ["a"]}', "'query'"),
        (b'{"query": ["a", "b"], "prompts": ["a"]}', "same length"),
        (b'{"query": ["a"], "labels": ["x", "y"]}', "same length"),
        (b'{"query": ["\\ud800"]}', "lone surrogate"),
        (b'["query"]', "JSON object"),
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b'{"query": ["\xff"]}', "UTF-8"),
        (b'{"query": [], "labels": ' + b"[" * 5000 + b"]" * 5000 + b"}", "deeper than 64"),
        (b"[" * 100_000, "unbalanced brackets"),
        (b'{"query": ' + b'["' * 30 + b'"]' * 30 + b"}", "not valid JSON"),
    ],
)
def test_bad_bodies_get_400_naming_the_field(server: RewardServer, body: bytes, names: str) -> None:
    reply = httpx.post(f"{server.url}/get_reward", headers=AUTH, content=body, timeout=HANG_S)
    assert reply.status_code == 400, reply.text
    assert names in one_line_error(reply.content)


def test_paths_and_methods(server: RewardServer) -> None:
    unknown = httpx.post(f"{server.url}/reward", headers=AUTH, json={"query": []})
    assert unknown.status_code == 404 and "/get_reward" in one_line_error(unknown.content)
    wrong = httpx.get(f"{server.url}/get_reward", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert httpx.post(f"{server.url}/health").status_code == 405
    assert httpx.head(f"{server.url}/health").status_code == 200


def test_nested_json_up_to_the_limit_is_accepted(server: RewardServer) -> None:
    # A label 62 levels deep (64 with the body object and the labels list) is not a string: use the prompt.
    deep = {"query": [PROMPT + GOOD], "prompts": [PROMPT], "labels": [json.loads("[" * 62 + "]" * 62)]}
    plain = {"query": [PROMPT + GOOD], "prompts": [PROMPT], "labels": None}
    first = httpx.post(f"{server.url}/get_reward", headers=AUTH, json=deep, timeout=HANG_S)
    second = httpx.post(f"{server.url}/get_reward", headers=AUTH, json=plain, timeout=HANG_S)
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["rewards"] == second.json()["rewards"] and first.json()["rewards"][0] > 0
    empty = httpx.post(f"{server.url}/get_reward", headers=AUTH, json={"query": []}, timeout=HANG_S)
    assert empty.json() == {"rewards": [], "scores": [], "extra_logs": {"valid": []}}


def test_health_answers_while_the_model_works(server: RewardServer) -> None:
    queries = [
        f"Q```python\ndef add{i}(a, b):\n    return a + b * {i}  # {'x' * 600}\n```" for i in range(300)
    ]
    result: dict[str, httpx.Response] = {}

    def score() -> None:
        body = {"query": queries, "prompts": ["Q"] * len(queries)}
        result["reply"] = httpx.post(f"{server.url}/get_reward", headers=AUTH, json=body, timeout=300)

    worker = threading.Thread(target=score)
    worker.start()
    answered_meanwhile = 0
    while worker.is_alive():
        reply = httpx.get(f"{server.url}/health", timeout=HANG_S)
        if worker.is_alive():
            answered_meanwhile += reply.status_code == 200
        time.sleep(0.1)
    worker.join()
    assert result["reply"].status_code == 200 and len(result["reply"].json()["rewards"]) == len(queries)
    assert answered_meanwhile >= 3


def test_closed_early_by_the_client_leaves_the_server_up(server: RewardServer) -> None:
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /get_reward HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer t0k\r\nContent-Length: 50\r\n\r\n{"
            )
    assert server.healthy()


def test_ctrl_c_exits_cleanly(tiny_reward: Path, tmp_path: Path) -> None:
    running = start_reward_server(tiny_reward, tmp_path, read_timeout=2, idle_timeout=3, max_connections=4)
    with socket.create_connection(("127.0.0.1", running.port)):  # an idle client does not hold the exit
        assert running.stop() == 0
    assert "Traceback" not in running.stderr.read_text()
