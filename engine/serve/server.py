"""`codescaler serve`: the engine service over websockets.

Safe by default: it binds 127.0.0.1; binding anything else requires a token, checked at the websocket
handshake (`Authorization: Bearer TOKEN`) in constant time and never logged. `GET /health` answers
without a token (for load balancers); `GET /stats` needs it. SIGINT/SIGTERM stop accepting connections,
let in-flight requests finish (up to `grace_s`), then close.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import itertools
import json
import logging
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from engine.errors import CodescalerError
from engine.generation.base import Cancelled
from engine.listening import bound_address
from engine.protocol import CancelRequest, FeedbackReport, RankRequest, ScoreRequest
from engine.ranker import LocalRanker
from engine.serve.protocol import Limits, ProtocolError, answer, read_request, result_answer

if TYPE_CHECKING:
    from engine.feedback.serving import ServeFeedback

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_token_off_loopback(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise CodescalerError(
            f"binding {host} exposes the engine beyond this machine: set a token (--token-file or "
            "CODESCALER_ENGINE_TOKEN), or bind 127.0.0.1"
        )


class EngineServer:
    """Websocket front of a `LocalRanker`: one task per request, exactly one answer per request.

    Requests run in thread pools so that the reward-model work of several requests meets in the batcher;
    score requests get their own threads (in the rank pool they would queue behind ranks waiting for the
    serial policy, and never meet in a reward batch)."""

    def __init__(
        self,
        ranker: LocalRanker,
        token: str | None = None,
        grace_s: float = 30.0,
        limits: Limits | None = None,
        workers: int = 4,
        feedback: ServeFeedback | None = None,
    ):
        self.ranker = ranker
        self.feedback = feedback
        self.connections = itertools.count(1)
        self.token = token
        self.grace_s = grace_s
        self.limits = limits or Limits()
        self.tasks: set[asyncio.Task] = set()
        self.rejected = 0
        self.pools = {
            kind: ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"codescaler-{kind}")
            for kind in ("rank", "score")
        }

    def _authorized(self, request: Any) -> bool:
        if not self.token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def stats(self) -> dict[str, Any]:
        stats = self.ranker.stats()
        stats["failed"] += self.rejected  # malformed or over-limit requests never reach the ranker
        return stats

    def _process_request(self, connection: Any, request: Any) -> Any:
        path = request.path.split("?")[0]
        if path == "/health":
            return connection.respond(200, "ok\n")
        if not self._authorized(request):
            return connection.respond(401, "missing or wrong engine token\n")
        if path == "/stats":
            response = connection.respond(200, json.dumps(self.stats()) + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        return None

    async def _answer(
        self,
        websocket: Any,
        request: RankRequest | ScoreRequest,
        cancel: threading.Event,
        pending: dict,
        connection: int,
    ) -> None:
        kind = "rank" if isinstance(request, RankRequest) else "score"
        work = self.ranker.rank if kind == "rank" else self.ranker.score
        started = time.perf_counter()
        result, outcome = None, "open"
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.pools[kind], work, request, cancel)
            if cancel.is_set():  # finished before it noticed: the client asked to drop it all the same
                raise Cancelled()
            reply = result_answer(request.id, result)
        except Cancelled:
            reply, outcome = answer(request.id, "cancelled"), "superseded"
        except CodescalerError as exc:
            reply, outcome = answer(request.id, "error", error=str(exc)), "failed"
        except Exception as exc:
            log.exception("request %s failed", request.id)
            reply = answer(request.id, "error", error=f"internal error: {type(exc).__name__}: {exc}")
            outcome = "failed"
        finally:
            pending.pop(request.id, None)
        await _send(websocket, reply)
        if self.feedback is not None and isinstance(request, RankRequest):
            ranked = result if outcome == "open" else None
            self.feedback.answered(connection, request, ranked, outcome, time.perf_counter() - started)

    async def _connection(self, websocket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        pending: dict[Any, threading.Event] = {}
        connection = next(self.connections)
        try:
            async for frame in websocket:
                try:
                    request = read_request(frame, self.limits)
                except ProtocolError as exc:
                    self.rejected += 1
                    await _send(websocket, answer(exc.request_id, "error", error=str(exc)))
                    continue
                if isinstance(request, CancelRequest):
                    if request.id in pending:
                        pending[request.id].set()
                    continue
                if isinstance(request, FeedbackReport):
                    if self.feedback is not None:
                        self.feedback.report(request)
                    continue
                if request.id in pending:
                    self.rejected += 1
                    reason = f"request id {request.id!r} is already in flight"
                    await _send(websocket, answer(request.id, "error", error=reason))
                    continue
                pending[request.id] = threading.Event()
                task = asyncio.create_task(
                    self._answer(websocket, request, pending[request.id], pending, connection)
                )
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        except ConnectionClosed:  # an editor crashed or the network dropped: not an engine error
            log.info("a client disconnected abruptly with %d requests in flight", len(pending))
        finally:  # the client went away: stop its work
            for cancel in pending.values():
                cancel.set()

    async def run(self, host: str, sock: socket.socket, ready: asyncio.Event | None = None) -> None:
        """Serve on `sock` (bound by `engine.listening.listen` to `host`, before the models loaded)."""
        from websockets.asyncio.server import serve

        require_token_off_loopback(host, self.token)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(signum, stop.set)
        limit = self.limits.max_payload_bytes
        async with serve(
            self._connection, sock=sock, process_request=self._process_request, max_size=2 * limit
        ) as server:
            print(f"codescaler engine ready on ws://{bound_address(sock)}", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
            log.warning("shutting down: finishing %d in-flight requests", len(self.tasks))
            server.close(close_connections=False)
            if self.tasks:
                await asyncio.wait(set(self.tasks), timeout=self.grace_s)
        for pool in self.pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


async def _send(websocket: Any, reply: bytes) -> None:
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed):
        await websocket.send(reply.decode("utf-8"))
