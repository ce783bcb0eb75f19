"""The engine service's client: a `Ranker` whose work runs on a `codescaler serve` (docs/engine-protocol.md).

One websocket, shared by any number of threads: each call sends a typed request with a fresh id, a reader
thread hands each answer to the call waiting for it, and a caller's `cancel` event becomes a `cancel`
message. With `reconnect` (the language server) the client keeps reconnecting with backoff whenever the
engine goes away and reports each change of state; without it (`rank --engine`, evaluations) an
unreachable engine is an error at once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from typing import Any

import msgspec

from engine.errors import CodescalerError, first_line
from engine.generation.base import Cancelled
from engine.protocol import CancelRequest, FeedbackReport, RankRequest, RankResult, ScoreRequest, ScoreResult
from engine.serve.protocol import encode

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder()


class EngineUnavailable(CodescalerError):
    """The engine cannot answer now (unreachable, refused, or the connection dropped)."""


class _Call:
    """One request waiting for its answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: dict[str, Any] | None = None
        self.failure: Exception | None = None

    def finish(self, reply: dict[str, Any] | None = None, failure: Exception | None = None) -> None:
        self.reply, self.failure = reply, failure
        self.done.set()


class RemoteRanker:
    """Ranks and scores on the engine at `url` (ws://HOST:PORT) with an optional bearer `token`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        reconnect: bool = False,
        on_state: Any = None,
    ):
        self.url = url
        self.models = f"engine at {url}"
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._token = token
        self._on_state = on_state or (lambda state, detail: None)
        self._ids = itertools.count(1)
        self._calls: dict[str, _Call] = {}
        self._send_lock = threading.Lock()
        self._ws: Any = None
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._problem = f"not connected to the engine at {url}"
        if reconnect:
            target = self._stay_connected
        else:
            self._ws = self._connect()
            self._connected.set()
            target = self._read
        self._thread = threading.Thread(target=target, name="codescaler-engine-client", daemon=True)
        self._thread.start()

    def _connect(self) -> Any:
        from websockets.exceptions import InvalidStatus, InvalidURI
        from websockets.sync.client import connect

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            return connect(
                self.url, additional_headers=headers, open_timeout=self.connect_timeout_s, max_size=None
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            hint = (
                ": pass the engine's token (--token, models.token or CODESCALER_ENGINE_TOKEN)"
                if status == 401
                else ""
            )
            raise EngineUnavailable(
                f"the engine at {self.url} refused the connection ({status}){hint}"
            ) from exc
        except InvalidURI as exc:
            raise EngineUnavailable(f"{self.url} is not an engine address: use ws://HOST:PORT") from exc
        except (OSError, TimeoutError) as exc:
            raise EngineUnavailable(
                f"cannot reach the engine at {self.url}: {first_line(exc)}; is codescaler serve running?"
            ) from exc

    def _read(self) -> None:
        """Hand answers to their callers until the connection drops; then fail the calls still waiting."""
        from websockets.exceptions import ConnectionClosed

        try:
            for frame in self._ws:
                reply = _decoder.decode(frame)
                call = self._calls.get(reply.get("id")) if isinstance(reply, dict) else None
                if call is not None:
                    call.finish(reply)
        except ConnectionClosed:
            pass
        self._connected.clear()
        self._problem = f"lost the connection to the engine at {self.url}"
        for call in list(self._calls.values()):
            call.finish(failure=EngineUnavailable(self._problem))

    def _stay_connected(self) -> None:
        delay = 0.5
        while not self._closing.is_set():
            try:
                self._ws = self._connect()
            except EngineUnavailable as exc:
                self._problem = str(exc)
                self._on_state("error", str(exc))
                self._closing.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            self._connected.set()
            self._on_state("ready", self.models)
            self._read()
            if not self._closing.is_set():
                self._on_state("error", f"{self._problem}; reconnecting")

    def _send(self, message: bytes | str) -> None:
        with self._send_lock:
            self._ws.send(message if isinstance(message, str) else message.decode("utf-8"))

    def _call(self, request: RankRequest | ScoreRequest, cancel: threading.Event | None) -> dict[str, Any]:
        if not self._connected.wait(self.connect_timeout_s):
            raise EngineUnavailable(self._problem)
        request_id = f"r{next(self._ids)}"
        call = self._calls[request_id] = _Call()
        try:
            try:
                self._send(encode(msgspec.structs.replace(request, id=request_id)))
            except Exception as exc:
                raise EngineUnavailable(f"engine at {self.url}: {first_line(exc)}") from exc
            self._wait(call, request_id, cancel)
        finally:
            self._calls.pop(request_id, None)
        if call.failure is not None:
            raise call.failure
        reply = call.reply or {}
        if reply.get("type") == "cancelled":
            raise Cancelled()
        if reply.get("type") == "error":
            raise CodescalerError(f"engine: {reply.get('error')}")
        return reply

    def _wait(self, call: _Call, request_id: str, cancel: threading.Event | None) -> None:
        """Until the answer comes: a set `cancel` sends one `cancel` (the engine then answers `cancelled`)."""
        waited, step, cancelled = 0.0, 0.02, False
        while not call.done.wait(step):
            waited += step
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                with contextlib.suppress(Exception):  # the connection is going: the reader fails the call
                    self._send(encode(CancelRequest(id=request_id)))
            if waited > self.timeout_s:
                raise EngineUnavailable(
                    f"the engine at {self.url} did not answer within {self.timeout_s:g} s"
                )

    def rank(self, request: RankRequest, cancel: threading.Event | None = None) -> RankResult:
        return msgspec.convert(self._call(request, cancel), RankResult)

    def score(self, request: ScoreRequest, cancel: threading.Event | None = None) -> ScoreResult:
        return msgspec.convert(self._call(request, cancel), ScoreResult)

    def report(self, report: FeedbackReport) -> None:
        """Send a feedback report, unanswered; dropped (with a log line) when the engine is away."""
        if not self._connected.is_set():
            log.info("engine at %s is away: dropped a feedback report", self.url)
            return
        try:
            self._send(encode(report))
        except Exception as exc:
            log.info("engine at %s: could not send a feedback report: %s", self.url, first_line(exc))

    def stats(self) -> dict[str, Any]:
        return {"url": self.url, "connected": self._connected.is_set(), "pending": len(self._calls)}

    def close(self) -> None:
        self._closing.set()
        if self._ws is not None:
            self._ws.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RemoteRanker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def served_models(url: str, token: str | None) -> str:
    """What the engine at `url` says it serves (its `/stats` `models`)."""
    from engine.http_client import JsonHttpClient

    http = JsonHttpClient(url.replace("ws://", "http://", 1), "engine", api_key=token, retries=1)
    refused = f"the engine at {url} refused the connection (401): pass the engine's token (--token)"
    try:
        return str(http.request("GET", "/stats", explain_401=refused).get("models") or "unknown")
    finally:
        http.close()
