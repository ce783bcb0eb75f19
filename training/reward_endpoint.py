"""Rewards for other RL frameworks: an HTTP endpoint in OpenRLHF's `--remote_rm_url` shape, and a verl
reward function. Both compute the same reward as `codescaler train-policy` (`CodeReward`): reference
extraction, validity gate, reward model, softplus. This is how multi-node RL runs reuse one engine.

OpenRLHF posts `{"query": [prompt + response, ...], "prompts": [prompt, ...], "labels": [...]}` to
`/get_reward` and reads `{"rewards": [...]}` (newer versions also `scores` and `extra_logs`); `prompts`
and `labels` may be null. The response is the query with its prompt removed; the question the reward
model reads is the label when it is a string (set OpenRLHF's `--label_key` to the problem column), else
the prompt.

The HTTP side is aiohttp's low-level server (`aiohttp.web.Server`), not a hand-rolled one, because it
brings what a port exposed to a cluster needs and `http.server` lacks: a strict C HTTP parser (llhttp:
bad `Content-Length`, bad request lines and oversized header lines get a 400 from the library), a
keep-alive timer that also runs from the moment a connection opens (so a client that never finishes its
headers is closed after `idle_timeout_s`), streamed bodies (the token is checked before one body byte is
read), bounded lingering after an early answer, and no thread per connection. uvicorn was the other
candidate; it keeps a connection that never sends a request open forever, which is the attack to stop.
What aiohttp does not have is added here, small: a body deadline, a body-size cap with a JSON answer, a
connection cap (a second tiny aiohttp server answers 503 to the next `max_connections` connections, the
rest are reset at accept), a JSON nesting cap, strict field validation, and a bounded pool for the
blocking reward computation so `/health` answers while the model works.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from engine.errors import CodescalerError
from engine.serve.server import require_token_off_loopback
from training.rl_reward import CodeReward

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 << 20
MAX_JSON_DEPTH = 64
REWARD_PATH = "/get_reward"
HEALTH_PATH = "/health"

# A JSON string literal, escapes included; possessive (Python 3.11+) so a 64 MiB string is one linear
# scan, and an unterminated one runs to the end instead of being retried from every later quote.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)', re.DOTALL)
# Everything but brackets goes; `{}` become `[]` because only the depth matters here.
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


# What reading a body raises when the client breaks off or sends broken chunks.
_BROKEN_BODY = (ConnectionError, HttpProcessingError, web.RequestPayloadError)


class BadRequest(CodescalerError):
    """A request body the endpoint refuses; the message is the one-line 400 answer."""


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the reward server; the defaults suit OpenRLHF on a trusted cluster."""

    max_body_bytes: int = MAX_BODY_BYTES
    read_timeout_s: float = 10.0  # the body must arrive within this after the headers
    idle_timeout_s: float = 5.0  # idle keep-alive, and the time a new connection has for its headers
    max_connections: int = 64
    reward_workers: int = 1  # concurrent reward computations (the model is one shared resource)
    shutdown_grace_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise CodescalerError("the body limit must be at least 1 byte")
        if self.read_timeout_s <= 0 or self.idle_timeout_s <= 0:
            raise CodescalerError("--read-timeout and --idle-timeout must be positive (seconds)")
        if self.max_connections < 1 or self.reward_workers < 1:
            raise CodescalerError("--max-connections and --reward-workers must be at least 1")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return (
        "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__
    )


def check_nesting(data: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit` before `json.loads` sees it (it recurses once per level).

    Strings are cut out first (so brackets inside them do not count), then each pass removes every
    innermost `[]` pair: the number of passes is the nesting depth. All in C, at most `limit` + 1 passes,
    so a 64 MiB body costs well under a second and no input makes it quadratic.
    """
    brackets = _JSON_STRING.sub(b"", data).translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            raise BadRequest("the body is not valid JSON (unbalanced brackets): send one JSON object")
        brackets = shorter
    if brackets:
        raise BadRequest(f"the body nests JSON deeper than {limit} levels: send a flat OpenRLHF request")


def decode_body(data: bytes) -> Any:
    """The JSON value of a request body; `BadRequest` for anything that is not UTF-8 JSON."""
    if not data.strip():
        raise BadRequest('the body is empty: send a JSON object {"query": [...]}')
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 (byte {exc.start}): send UTF-8 JSON") from exc
    check_nesting(data)
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's digit limit
        raise BadRequest(f"the body is not valid JSON ({str(exc).splitlines()[0][:200]})") from exc


def _strings(body: dict, field: str, size: int | None) -> list[str] | None:
    """`body[field]` as a list of valid Unicode strings (of length `size` when given); None when absent."""
    value = body.get(field)
    if value is None and field != "query":
        return None
    if not isinstance(value, list):
        raise BadRequest(f"'{field}' must be a list of strings, not {_json_type(value)}")
    if size is not None and len(value) != size:
        raise BadRequest(
            f"'{field}' must have the same length as 'query' ({len(value)} vs {size}), or be null"
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise BadRequest(f"'{field}'[{index}] must be a string, not {_json_type(item)}")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest(f"'{field}'[{index}] holds a lone surrogate: send valid Unicode text") from exc
    return value


def parse_openrlhf_request(body: Any) -> tuple[list[str], list[str]]:
    """(questions, responses) of an OpenRLHF request body; `BadRequest` naming the field otherwise.

    `query` is a list of strings; `prompts` null or one string per query; `labels` null or a list of one
    item per query, where a string label is the question and any other label means "use the prompt".
    """
    if not isinstance(body, dict):
        raise BadRequest(
            f'the body must be a JSON object {{"query": [...], "prompts": [...], "labels": [...]}}, '
            f"not {_json_type(body)}"
        )
    if "query" not in body:
        raise BadRequest("'query' is missing: send a list of strings (prompt + response)")
    queries = _strings(body, "query", None)
    assert queries is not None
    prompts = _strings(body, "prompts", len(queries)) or [""] * len(queries)
    labels = body.get("labels")
    if labels is None:
        labels = [None] * len(queries)
    elif not isinstance(labels, list):
        raise BadRequest(f"'labels' must be null or a list (one per query), not {_json_type(labels)}")
    elif len(labels) != len(queries):
        raise BadRequest(
            f"'labels' must have the same length as 'query' ({len(labels)} vs {len(queries)}), or be null"
        )
    questions: list[str] = []
    for index, (label, prompt) in enumerate(zip(labels, prompts, strict=True)):
        if isinstance(label, str):
            try:
                label.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest(
                    f"'labels'[{index}] holds a lone surrogate: send valid Unicode text"
                ) from exc
            questions.append(label)
        else:
            questions.append(prompt)
    responses = [q[len(p) :] if q.startswith(p) else q for q, p in zip(queries, prompts, strict=True)]
    return questions, responses


def openrlhf_rewards(reward: CodeReward, body: Any) -> dict[str, Any]:
    """The answer to one OpenRLHF request body (already decoded); `BadRequest` for a malformed one."""
    questions, responses = parse_openrlhf_request(body)
    rewards = [float(r) for r in reward.rewards(questions, responses)] if questions else []
    valid = [float(r > 0) for r in rewards]  # softplus shaping: positive exactly for valid code
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"valid": valid}}


def _answer(status: int, payload: dict[str, Any], *, close: bool = False, **headers: str) -> web.Response:
    response = web.json_response(payload, status=status, headers=headers or None)
    if close:
        response.force_close()
    return response


def _error(status: int, message: str, *, close: bool = False, **headers: str) -> web.Response:
    return _answer(status, {"error": " ".join(message.split())}, close=close, **headers)


class _OneLineErrors(logging.Filter):
    """aiohttp logs every malformed request with a traceback; on an exposed port that is log spam an
    attacker controls. Keep one line: what happened and the parser's reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            reason = " ".join(str(record.exc_info[1]).split())[:300]
            record.msg, record.args = f"{record.getMessage()}: {reason}", ()
            record.exc_info, record.exc_text = None, None
        return True


_HTTP_LOG = log.getChild("http")
_HTTP_LOG.addFilter(_OneLineErrors())


class _Reset(asyncio.Protocol):
    """A connection over both caps: reset at once, so a flood costs one accept each and nothing more."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


class _CountedServer(web.Server):
    """aiohttp's low-level server, counting its connections from the moment they are accepted: asyncio
    accepts a burst of connections before any of them reports `connection_made` (where `connections`
    starts counting them), and a cap must count those too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open = 0

    def __call__(self) -> web.RequestHandler:
        handler = super().__call__()
        self.open += 1
        return handler

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        self.open -= 1
        super().connection_lost(handler, exc)


class RewardEndpoint:
    """POST /get_reward and GET /health over aiohttp, with the limits of `ServerLimits`."""

    def __init__(self, reward: CodeReward, token: str | None, limits: ServerLimits | None = None):
        self.reward = reward
        self.limits = limits or ServerLimits()
        self._expected = f"Bearer {token}".encode() if token else None
        self._pool = ThreadPoolExecutor(self.limits.reward_workers, thread_name_prefix="reward")
        self._main: _CountedServer | None = None
        self._busy: _CountedServer | None = None

    def _authorized(self, request: web.BaseRequest) -> bool:
        if self._expected is None:
            return True
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._expected)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Route, authorize, read within the limits, validate, compute off the event loop."""
        path = request.raw_path.split("?", 1)[0]  # undecoded: a hostile target cannot raise here
        if path == HEALTH_PATH:
            if request.method not in ("GET", "HEAD"):
                return _error(405, f"{HEALTH_PATH} answers GET", Allow="GET, HEAD")
            return _answer(200, {"status": "ok"})
        if path != REWARD_PATH:
            return _error(404, f"unknown path {path[:100]!r}: POST {REWARD_PATH} (GET {HEALTH_PATH})")
        if request.method != "POST":
            return _error(405, f"{REWARD_PATH} answers POST with a JSON body", Allow="POST")
        if not self._authorized(request):  # before a single body byte is read
            return _error(401, "missing or wrong token (Authorization: Bearer TOKEN)", close=True)
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            return _error(
                415,
                f"Content-Encoding {encoding[:40]!r} is not accepted: send the body uncompressed",
                close=True,
            )
        limit = self.limits.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _error(
                413,
                f"body of {request.content_length} bytes is over the {limit}-byte limit: send fewer queries "
                "per request (or raise --max-body-mib)",
                close=True,
            )
        try:
            async with asyncio.timeout(self.limits.read_timeout_s):
                data = await self._read_body(request, limit)
        except TimeoutError:
            seconds = self.limits.read_timeout_s
            return _error(
                408, f"the body did not arrive within {seconds:g} s: send it whole, promptly", close=True
            )
        except BadRequest as exc:
            return _error(413, str(exc), close=True)
        except _BROKEN_BODY as exc:
            return _error(400, f"the body could not be read: {exc}", close=True)
        try:
            body = await asyncio.to_thread(decode_body, data)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self._pool, openrlhf_rewards, self.reward, body)
        except BadRequest as exc:
            return _error(400, str(exc))
        except CodescalerError as exc:  # the reward side (e.g. the engine behind --engine) failed
            log.warning("reward computation failed: %s", exc)
            return _error(502, f"the reward computation failed: {exc}")
        except Exception as exc:
            log.exception("reward computation failed")
            return _error(500, f"the reward computation failed: {type(exc).__name__}: {exc}")
        return _answer(200, answer)

    @staticmethod
    async def _read_body(request: web.BaseRequest, limit: int) -> bytes:
        """The body, streamed (chunked bodies have no Content-Length to check up front)."""
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                raise BadRequest(f"body over the {limit}-byte limit: send fewer queries per request")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _busy_answer(self, request: web.BaseRequest) -> web.StreamResponse:
        return _error(
            503, f"the server is at its {self.limits.max_connections}-connection limit: retry", close=True,
            **{"Retry-After": "1"},
        )  # fmt: skip

    def _protocol(self) -> asyncio.BaseProtocol:
        """A connection's protocol: served under the cap, a quick 503 just over it, reset beyond."""
        assert self._main is not None and self._busy is not None
        cap = self.limits.max_connections
        if self._main.open < cap:
            return self._main()
        if self._busy.open < cap:
            return self._busy()
        return _Reset()

    async def serve(
        self,
        sock: socket.socket,
        ready: Callable[[int], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve on `sock` (bound by `engine.listening.listen` before the model loaded) until SIGINT/SIGTERM
        (or `stop`), then finish in-flight requests for a short grace."""
        limits = self.limits
        # auto_decompress off: a compressed body is refused (415) rather than inflated past the size cap.
        # lingering_time: after an early answer (401, 413, 408), read and drop what the client still sends
        # for at most this long, so its answer is not lost to a reset, then close.
        common: dict[str, Any] = {
            "logger": _HTTP_LOG,
            "access_log": log.getChild("access"),
            "auto_decompress": False,
        }
        self._main = _CountedServer(
            self.handle, keepalive_timeout=limits.idle_timeout_s, lingering_time=min(2.0, limits.read_timeout_s),
            **common,
        )  # fmt: skip
        self._busy = _CountedServer(
            self._busy_answer, keepalive_timeout=min(2.0, limits.idle_timeout_s), lingering_time=0.5, **common
        )
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(signum, stop.set)
        server = await loop.create_server(self._protocol, sock=sock)
        try:
            if ready is not None:
                ready(sock.getsockname()[1])
            await stop.wait()
        finally:
            server.close()
            self._main.pre_shutdown()
            await self._main.shutdown(limits.shutdown_grace_s)
            await self._busy.shutdown(0.5)
            self._pool.shutdown(wait=True, cancel_futures=True)
            for signum in (signal.SIGINT, signal.SIGTERM):
                with suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)


def run_server(
    reward: CodeReward,
    host: str,
    sock: socket.socket,
    token: str | None,
    limits: ServerLimits | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Serve `reward` on `sock` (bound to `host`) until SIGINT/SIGTERM; off loopback a token is required."""
    require_token_off_loopback(host, token)
    asyncio.run(RewardEndpoint(reward, token, limits).serve(sock, ready))
