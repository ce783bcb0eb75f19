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
import json
import logging
import signal
import threading
from typing import Any

from engine.errors import CodescalerError
from engine.generation.base import Cancelled
from engine.serve.protocol import ProtocolError, parse_message
from engine.serve.service import EngineService

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
    """Websocket front of an `EngineService`: one task per request, exactly one answer per request."""

    def __init__(self, service: EngineService, token: str | None = None, grace_s: float = 30.0):
        self.service = service
        self.token = token
        self.grace_s = grace_s
        self.tasks: set[asyncio.Task] = set()

    def _authorized(self, request: Any) -> bool:
        if not self.token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def _process_request(self, connection: Any, request: Any) -> Any:
        path = request.path.split("?")[0]
        if path == "/health":
            return connection.respond(200, "ok\n")
        if not self._authorized(request):
            return connection.respond(401, "missing or wrong engine token\n")
        if path == "/stats":
            response = connection.respond(200, json.dumps(self.service.stats()) + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        return None

    async def _answer(self, websocket: Any, message: dict, cancel: threading.Event, pending: dict) -> None:
        request_id = message.get("id")
        try:
            reply = {"id": request_id, "type": "result", **await self.service.handle(message, cancel)}
            if cancel.is_set():  # finished before it noticed: the client asked to drop it all the same
                raise Cancelled()
            self.service.counts["completed"] += 1
        except Cancelled:
            reply = {"id": request_id, "type": "cancelled"}
            self.service.counts["cancelled"] += 1
        except CodescalerError as exc:
            reply = {"id": request_id, "type": "error", "error": str(exc)}
            self.service.counts["failed"] += 1
        except Exception as exc:
            log.exception("request %s failed", request_id)
            reply = {
                "id": request_id,
                "type": "error",
                "error": f"internal error: {type(exc).__name__}: {exc}",
            }
            self.service.counts["failed"] += 1
        finally:
            pending.pop(request_id, None)
        await _send(websocket, reply)

    async def _connection(self, websocket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        pending: dict[Any, threading.Event] = {}
        try:
            async for frame in websocket:
                try:
                    message = parse_message(frame, self.service.limits)
                except ProtocolError as exc:
                    await _send(websocket, {"id": exc.request_id, "type": "error", "error": str(exc)})
                    continue
                request_id = message.get("id")
                if message["type"] == "cancel":
                    if request_id in pending:
                        pending[request_id].set()
                    continue
                if request_id is None or request_id in pending:
                    reason = (
                        "missing field 'id'"
                        if request_id is None
                        else f"request id {request_id!r} is already in flight"
                    )
                    await _send(websocket, {"id": request_id, "type": "error", "error": reason})
                    continue
                pending[request_id] = threading.Event()
                task = asyncio.create_task(self._answer(websocket, message, pending[request_id], pending))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        except ConnectionClosed:  # an editor crashed or the network dropped: not an engine error
            log.info("a client disconnected abruptly with %d requests in flight", len(pending))
        finally:  # the client went away: stop its work
            for cancel in pending.values():
                cancel.set()

    async def run(self, host: str, port: int, ready: asyncio.Event | None = None) -> None:
        from websockets.asyncio.server import serve

        require_token_off_loopback(host, self.token)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(signum, stop.set)
        limit = self.service.limits.max_payload_bytes
        async with serve(
            self._connection, host, port, process_request=self._process_request, max_size=2 * limit
        ) as server:
            bound = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
            print(f"codescaler engine ready on ws://{bound}", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
            log.warning("shutting down: finishing %d in-flight requests", len(self.tasks))
            server.close(close_connections=False)
            if self.tasks:
                await asyncio.wait(set(self.tasks), timeout=self.grace_s)
        self.service.close()


async def _send(websocket: Any, reply: dict) -> None:
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed):
        await websocket.send(json.dumps(reply, ensure_ascii=False))
