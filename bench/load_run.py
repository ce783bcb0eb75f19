"""Load run against a real `codescaler serve`: many websocket clients, cancels, disconnects, memory.

Builds the tiny models (or takes `--policy`/`--reward-model`), starts `codescaler serve` on a free
loopback port with a token file, and drives it with `--clients` concurrent websocket clients of
`--requests` requests each, several in flight per connection (`--in-flight`). Requests are mostly `rank`
at a cursor in a small Python document with some `score` requests. With a seeded RNG, ~10% of the
requests are cancelled 0-50 ms after they are sent, and ~2% of them are followed by an abrupt disconnect
(the socket is aborted with requests in flight; the client reconnects and goes on):

    python bench/load_run.py [--clients 16] [--requests 200] [--json results.json]

Checks: every request sent on a connection that stayed open until its answer gets exactly one answer
(`result`, `error` or `cancelled`) with its id; `duplicates`, `missing`, `unknown_ids` and unprovoked
`errors` must all be 0, else the script exits 1 (after printing the report). Requests unanswered when
their connection was aborted on purpose are counted apart (`lost_to_disconnect`) and need no answer.
`--bad-request-rate` provokes `error` answers on purpose (n over the server's limit); those are
expected and counted as `errors_provoked`.

Reports counts, wall time, throughput, client-side latency of `result` answers, the server's `/stats`
(batching, server-side latency) and the server's RSS (itself and its children) sampled every 0.5 s:
at the start of the load, at the end, the max and the slope between the second and the last quarter of
the run; growth over 20% is flagged (`memory.flag_growth_over_20pct`), not failed. The server is stopped
with SIGTERM at the end (killed if it does not exit). `--duration-limit-s` bounds the load: past it no
new request is sent, the answers in flight are awaited (at most `--drain-timeout-s`) and the report says
`truncated`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN_BYTES = 24
CURSOR = "\u2588"  # where a cursor stands in DOCUMENT (removed before sending)
DOCUMENT = f"""import math


def circle_area(radius):
    return {CURSOR}


def mean(values):
    total = 0
    for value in values:
        total += {CURSOR}
    return total / len(values)


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.{CURSOR}

    def pop(self):
        if not self.items:
            raise {CURSOR}
        return self.items.pop()


def is_even(number):
    return number % 2 == {CURSOR}
"""
SCORE_QUESTIONS = [
    "Return the sum of two numbers.",
    "Return the largest element of a list.",
    "Reverse a string.",
    "Count the vowels in a string.",
]
SCORE_SNIPPETS = [
    "def solve(a, b):\n    return a + b",
    "def solve(values):\n    return max(values)",
    "def solve(text):\n    return text[::-1]",
    "def solve(text):\n    return sum(ch in 'aeiou' for ch in text.lower())",
    "def solve(values):\n    best = values[0]\n    for v in values:\n        if v > best:\n            best = v\n    return best",
    "def solve(a, b):\n    return a - b",
    "def solve(:\n    return",  # invalid on purpose: the server reports it, it is not an error answer
    "solve = lambda text: ''.join(reversed(text))",
]


def cursor_positions(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The document without cursor marks, and the (line, character) of each mark."""
    text, positions = [], []
    for line_no, line in enumerate(marked.split("\n")):
        if CURSOR in line:
            positions.append((line_no, line.index(CURSOR)))
        text.append(line.replace(CURSOR, ""))
    return "\n".join(text), positions


DOCUMENT_TEXT, CURSORS = cursor_positions(DOCUMENT)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile, as the server computes its own."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the server process ---------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, workdir: Path, policy: str, reward: str) -> tuple[Any, int, str]:
    import httpx

    token = os.urandom(TOKEN_BYTES).hex()
    token_file = workdir / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = free_port()
    codescaler = Path(sys.executable).with_name("codescaler")
    command = [
        str(codescaler), "serve", "--policy", policy, "--reward-model", reward, "--host", "127.0.0.1",
        "--port", str(port), "--token-file", str(token_file), *args.serve_arg,
    ]  # fmt: skip
    log = open(args.server_log, "w")  # noqa: SIM115 (the process holds it; closed with the process)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + args.start_timeout_s
    with httpx.Client(trust_env=False, timeout=1) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"codescaler serve exited with {process.returncode}:\n{log_tail(args)}")
            try:
                if http.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return process, port, token
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    raise RuntimeError(f"codescaler serve did not answer /health in {args.start_timeout_s} s")


def stop_server(process: Any, timeout_s: float) -> dict[str, Any]:
    """SIGTERM, then wait; SIGKILL the process group if it does not exit in time."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout_s)
        killed = False
    except subprocess.TimeoutExpired:
        kill_group(process)
        code = process.wait()
        killed = True
    return {"exit_code": code, "shutdown_s": time.monotonic() - started, "killed": killed}


def kill_group(process: Any) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def log_tail(args: argparse.Namespace, lines: int = 40) -> str:
    try:
        return "\n".join(Path(args.server_log).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def server_stats(port: int, token: str) -> dict[str, Any]:
    import httpx

    with httpx.Client(trust_env=False, timeout=10) as http:
        reply = http.get(f"http://127.0.0.1:{port}/stats", headers={"Authorization": f"Bearer {token}"})
        reply.raise_for_status()
        return reply.json()


# --- memory ---------------------------------------------------------------------------------------------


def tree_rss(pid: int) -> int | None:
    """RSS in bytes of the process and its children, or None once it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total


async def sample_memory(pid: int, samples: list[tuple[float, int]], stop: asyncio.Event, every_s: float):
    start = time.perf_counter()
    while True:
        rss = tree_rss(pid)
        if rss is not None:
            samples.append((time.perf_counter() - start, rss))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            rss = tree_rss(pid)
            if rss is not None:
                samples.append((time.perf_counter() - start, rss))
            return


def memory_report(samples: list[tuple[float, int]]) -> dict[str, Any]:
    mib = 1 << 20
    if not samples:
        return {"samples": 0}
    duration = samples[-1][0]
    second = [(t, r) for t, r in samples if duration / 4 <= t < duration / 2]
    last = [(t, r) for t, r in samples if t >= 3 * duration / 4]
    slope = None
    if second and last:
        t2, r2 = statistics.fmean(t for t, _ in second), statistics.fmean(r for _, r in second)
        t4, r4 = statistics.fmean(t for t, _ in last), statistics.fmean(r for _, r in last)
        slope = (r4 - r2) / mib / ((t4 - t2) / 60) if t4 > t2 else None
    start, end = samples[0][1], samples[-1][1]
    growth = (end - start) / start
    return {
        "samples": len(samples),
        "interval_s": 0.5,
        "rss_start_mib": start / mib,
        "rss_end_mib": end / mib,
        "rss_max_mib": max(r for _, r in samples) / mib,
        "growth_pct": 100 * growth,
        "slope_q2_to_q4_mib_per_min": slope,
        "q2_mean_mib": statistics.fmean(r for _, r in second) / mib if second else None,
        "q4_mean_mib": statistics.fmean(r for _, r in last) / mib if last else None,
        "flag_growth_over_20pct": growth > 0.20,
    }


# --- the load -------------------------------------------------------------------------------------------


@dataclass
class Request:
    kind: str
    sent_at: float
    provoked: bool = False
    cancel_sent: bool = False


@dataclass
class Tally:
    sent: int = 0
    sent_by_kind: dict[str, int] = field(default_factory=lambda: {"rank": 0, "score": 0, "bad": 0})
    results: int = 0
    cancelled: int = 0
    errors: int = 0
    errors_provoked: int = 0
    provoked_not_error: int = 0
    lost_to_disconnect: int = 0
    duplicates: int = 0
    missing: int = 0
    unknown_ids: int = 0
    send_failures: int = 0
    cancels_sent: int = 0
    cancels_after_answer: int = 0
    cancel_requested_answered_cancelled: int = 0
    cancel_requested_answered_result: int = 0
    cancelled_without_cancel: int = 0
    disconnects: int = 0
    unexpected_closes: int = 0
    latencies: list[float] = field(default_factory=list)
    latencies_by_kind: dict[str, list[float]] = field(default_factory=lambda: {"rank": [], "score": []})
    samples: dict[str, list] = field(default_factory=dict)

    def note(self, what: str, detail: Any, keep: int = 5) -> None:
        bucket = self.samples.setdefault(what, [])
        if len(bucket) < keep:
            bucket.append(detail)


class Connection:
    """One websocket and the bookkeeping of the requests sent on it."""

    def __init__(self, ws: Any, tally: Tally, slots: asyncio.Semaphore):
        self.ws = ws
        self.tally = tally
        self.slots = slots
        self.pending: dict[str, Request] = {}
        self.answered: dict[str, str] = {}
        self.aborted = False
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        tally = self.tally
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.ws:
                reply = json.loads(frame)
                request_id, kind = reply.get("id"), reply.get("type")
                if request_id in self.answered:
                    tally.duplicates += 1
                    tally.note(
                        "duplicates", {"id": request_id, "first": self.answered[request_id], "then": kind}
                    )
                    continue
                request = self.pending.pop(request_id, None)
                if request is None:
                    tally.unknown_ids += 1
                    tally.note("unknown_ids", reply)
                    continue
                self.answered[request_id] = kind
                self.slots.release()
                if kind == "result":
                    tally.results += 1
                    latency = time.perf_counter() - request.sent_at
                    tally.latencies.append(latency)
                    tally.latencies_by_kind.setdefault(request.kind, []).append(latency)
                    if request.cancel_sent:
                        tally.cancel_requested_answered_result += 1
                elif kind == "cancelled":
                    tally.cancelled += 1
                    if request.cancel_sent:
                        tally.cancel_requested_answered_cancelled += 1
                    else:
                        tally.cancelled_without_cancel += 1
                        tally.note("cancelled_without_cancel", request_id)
                elif kind == "error" and request.provoked:
                    tally.errors_provoked += 1
                else:
                    tally.errors += 1
                    tally.note("errors", reply)
                if request.provoked and kind != "error":
                    tally.provoked_not_error += 1
        if not self.aborted:  # the server closed it (or the network failed): unanswered means missing
            self.tally.unexpected_closes += 1
            self._settle_pending("missing")

    def _settle_pending(self, outcome: str) -> None:
        for request_id in list(self.pending):
            self.pending.pop(request_id)
            self.answered[request_id] = outcome
            self.slots.release()
            if outcome == "missing":
                self.tally.missing += 1
                self.tally.note("missing", request_id)
            else:
                self.tally.lost_to_disconnect += 1

    @property
    def live(self) -> bool:
        return not self.aborted and not self.reader.done()

    async def send(self, message: dict[str, Any]) -> bool:
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(json.dumps(message))
            return True
        except ConnectionClosed:
            return False

    async def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, as a crashed editor would."""
        self.aborted = True
        self.ws.transport.abort()
        await self.reader
        self._settle_pending("lost")

    async def close(self) -> None:
        self.aborted = True  # from here on, unanswered requests are ours to forget
        await self.ws.close()
        await self.reader


def make_request(rng: random.Random, request_id: str, args: argparse.Namespace) -> tuple[dict, str]:
    """A rank request (most of the time) or a score request; provoked errors when asked for."""
    if rng.random() < args.bad_request_rate:
        return {"id": request_id, "type": "rank", "problem": "Add two numbers.", "n": 100_000}, "bad"
    if rng.random() < args.score_fraction:
        question = rng.choice(SCORE_QUESTIONS)
        codes = rng.sample(SCORE_SNIPPETS, rng.randint(3, 5))
        candidates = [{"code": code, "language": "python"} for code in codes]
        return {"id": request_id, "type": "score", "question": question, "candidates": candidates}, "score"
    line, character = rng.choice(CURSORS)
    message = {
        "id": request_id,
        "type": "rank",
        "document": {
            "text": DOCUMENT_TEXT,
            "line": line,
            "character": character,
            "language": "python",
            "path": "load.py",
        },
        "n": args.n,
        "max_new_tokens": rng.randint(args.min_new_tokens, args.max_new_tokens),
        "seed": rng.randrange(1 << 31),
    }
    return message, "rank"


async def run_client(
    index: int, args: argparse.Namespace, url: str, token: str, tally: Tally, deadline: float
) -> bool:
    """One editor: `args.requests` requests, `args.in_flight` at most at once; True if cut short."""
    from websockets.asyncio.client import connect

    rng = random.Random(f"{args.seed}:{index}")
    slots = asyncio.Semaphore(args.in_flight)
    cancels: set[asyncio.Task] = set()

    async def open_connection() -> Connection:
        ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            proxy=None,
            ping_interval=None,
            max_size=None,
            open_timeout=60,
        )
        return Connection(ws, tally, slots)

    async def cancel_later(connection: Connection, request_id: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if not connection.live:
            return
        request = connection.pending.get(request_id)
        if request is None:  # already answered: cancelling a finished id must do nothing
            tally.cancels_after_answer += 1
        else:
            request.cancel_sent = True
        if await connection.send({"type": "cancel", "id": request_id}):
            tally.cancels_sent += 1

    connection = await open_connection()
    truncated = False
    for number in range(args.requests):
        await slots.acquire()
        if time.perf_counter() > deadline:
            slots.release()
            truncated = True
            break
        if not connection.live:  # the server dropped us: go on with a new connection
            connection = await open_connection()
        request_id = f"c{index}-{number}"
        message, kind = make_request(rng, request_id, args)
        cancel = rng.random() < args.cancel_rate
        cancel_delay = rng.uniform(0, args.cancel_delay_ms / 1000)
        disconnect = rng.random() < args.disconnect_rate
        disconnect_delay = rng.uniform(0, args.disconnect_delay_ms / 1000)
        connection.pending[request_id] = Request(kind, time.perf_counter(), provoked=kind == "bad")
        if not await connection.send(message):
            if connection.pending.pop(request_id, None) is not None:
                slots.release()
            tally.send_failures += 1
            continue
        tally.sent += 1
        tally.sent_by_kind[kind] += 1
        if cancel:
            task = asyncio.create_task(cancel_later(connection, request_id, cancel_delay))
            cancels.add(task)
            task.add_done_callback(cancels.discard)
        if disconnect:
            await asyncio.sleep(disconnect_delay)
            await connection.abort()
            tally.disconnects += 1
            connection = await open_connection()

    drain_deadline = max(time.perf_counter(), deadline) + args.drain_timeout_s
    while connection.live and connection.pending and time.perf_counter() < drain_deadline:
        await asyncio.sleep(0.05)
    if cancels:
        await asyncio.wait(set(cancels))
    await asyncio.sleep(args.settle_s)  # a late duplicate would arrive here
    if connection.live:
        unanswered = list(connection.pending)
        for request_id in unanswered:  # the drain timed out: these never got their answer
            connection.pending.pop(request_id)
            connection.answered[request_id] = "missing"
            tally.missing += 1
            tally.note("missing", request_id)
        await connection.close()
    return truncated


async def run_load(args: argparse.Namespace, port: int, token: str, pid: int) -> dict[str, Any]:
    tally = Tally()
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pid, samples, stop, 0.5))
    await asyncio.sleep(0)  # first sample: RSS at the start of the load
    started = time.perf_counter()
    deadline = started + args.duration_limit_s
    url = f"ws://127.0.0.1:{port}/"
    outcomes = await asyncio.gather(
        *(run_client(i, args, url, token, tally, deadline) for i in range(args.clients)),
        return_exceptions=True,
    )
    wall = time.perf_counter() - started
    stats = await asyncio.to_thread(server_stats, port, token)
    stop.set()
    await sampler
    failures = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    answers = tally.results + tally.cancelled + tally.errors + tally.errors_provoked
    return {
        "tally": tally,
        "wall_s": wall,
        "answers": answers,
        "truncated": any(o is True for o in outcomes),
        "client_failures": failures,
        "stats": stats,
        "memory": memory_report(samples),
    }


def report(args: argparse.Namespace, load: dict[str, Any], shutdown: dict[str, Any], setup_s: float) -> dict:
    tally: Tally = load["tally"]
    stats = load["stats"]
    problems = []
    for name in ("duplicates", "missing", "unknown_ids", "errors", "provoked_not_error"):
        if getattr(tally, name):
            problems.append(f"{name}: {getattr(tally, name)}")
    if tally.unexpected_closes:
        problems.append(f"unexpected_closes: {tally.unexpected_closes}")
    problems += [f"client failed: {failure}" for failure in load["client_failures"]]
    if shutdown["exit_code"] != 0 or shutdown["killed"]:
        problems.append(f"server exit: {shutdown}")
    result = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "in_flight_per_client": args.in_flight,
        "seed": args.seed,
        "n": args.n,
        "max_new_tokens_range": [args.min_new_tokens, args.max_new_tokens],
        "cancel_rate": args.cancel_rate,
        "disconnect_rate": args.disconnect_rate,
        "total_requests": tally.sent,
        "sent_by_kind": tally.sent_by_kind,
        "results": tally.results,
        "cancelled": tally.cancelled,
        "errors": tally.errors,
        "errors_provoked": tally.errors_provoked,
        "lost_to_disconnect": tally.lost_to_disconnect,
        "duplicates": tally.duplicates,
        "missing": tally.missing,
        "unknown_ids": tally.unknown_ids,
        "answers": load["answers"],
        "cancels_sent": tally.cancels_sent,
        "cancels_after_answer": tally.cancels_after_answer,
        "cancel_requested_answered_cancelled": tally.cancel_requested_answered_cancelled,
        "cancel_requested_answered_result": tally.cancel_requested_answered_result,
        "cancelled_without_cancel": tally.cancelled_without_cancel,
        "disconnects": tally.disconnects,
        "unexpected_closes": tally.unexpected_closes,
        "send_failures": tally.send_failures,
        "setup_s": setup_s,
        "wall_s": load["wall_s"],
        "throughput_answers_per_s": load["answers"] / load["wall_s"] if load["wall_s"] else None,
        "client_latency_p50_s": percentile(tally.latencies, 0.5),
        "client_latency_p95_s": percentile(tally.latencies, 0.95),
        "client_latency_by_kind": {
            kind: {
                "results": len(values),
                "p50_s": percentile(values, 0.5),
                "p95_s": percentile(values, 0.95),
            }
            for kind, values in tally.latencies_by_kind.items()
        },
        "server": {
            "mean_batch_sequences": stats.get("mean_batch_sequences"),
            "mean_batch_requests": stats.get("mean_batch_requests"),
            "batches": stats.get("batches"),
            "latency_p50_s": stats.get("latency_p50_s"),
            "latency_p95_s": stats.get("latency_p95_s"),
            "stats": stats,
        },
        "memory": load["memory"],
        "shutdown": shutdown,
        "truncated": load["truncated"],
        "problems": problems,
        "ok": not problems,
    }
    if tally.samples:
        result["examples"] = tally.samples
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", help="policy model folder (default: build the tiny models)")
    parser.add_argument("--reward-model", help="reward model folder (default: build the tiny models)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--in-flight", type=int, default=4, help="requests in flight per connection")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=4, help="candidates per rank request")
    parser.add_argument("--min-new-tokens", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--score-fraction", type=float, default=0.2, help="share of score requests")
    parser.add_argument("--cancel-rate", type=float, default=0.10)
    parser.add_argument("--cancel-delay-ms", type=float, default=50.0, help="cancel 0..this after sending")
    parser.add_argument("--disconnect-rate", type=float, default=0.02)
    parser.add_argument(
        "--disconnect-delay-ms", type=float, default=30.0, help="abort 0..this after the request"
    )
    parser.add_argument(
        "--bad-request-rate", type=float, default=0.0, help="share of requests that must get an error"
    )
    parser.add_argument("--duration-limit-s", type=float, default=900.0, help="stop sending after this")
    parser.add_argument(
        "--drain-timeout-s", type=float, default=120.0, help="wait this for answers at the end"
    )
    parser.add_argument("--settle-s", type=float, default=1.0, help="wait for late duplicates before closing")
    parser.add_argument("--start-timeout-s", type=float, default=180.0)
    parser.add_argument("--stop-timeout-s", type=float, default=60.0)
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="extra `codescaler serve` argument (repeatable)"
    )
    parser.add_argument("--server-log", type=Path, help="keep the server's output here")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if bool(args.policy) != bool(args.reward_model):
        parser.error("pass both --policy and --reward-model, or neither")

    setup_started = time.perf_counter()
    process = None
    with tempfile.TemporaryDirectory(prefix="codescaler-load-") as tmp:
        workdir = Path(tmp)
        args.server_log = args.server_log or workdir / "serve.log"
        try:
            if args.policy:
                policy, reward = args.policy, args.reward_model
            else:
                from engine.devtools.tiny_models import build_tiny_models

                models = build_tiny_models(workdir / "models")
                policy, reward = str(models["policy"]), str(models["reward"])
            process, port, token = start_server(args, workdir, policy, reward)
            setup_s = time.perf_counter() - setup_started
            load = asyncio.run(run_load(args, port, token, process.pid))
            shutdown = stop_server(process, args.stop_timeout_s)
        finally:
            if process is not None:
                kill_group(process)
        result = report(args, load, shutdown, setup_s)
        if not result["ok"]:
            print(f"server log (last lines):\n{log_tail(args)}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
