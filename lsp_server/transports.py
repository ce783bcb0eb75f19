"""How editors reach the server: stdio (one editor, the default), TCP or websockets (many at once).

pygls' own `start_tcp`/`start_ws` serve one connection and then end the process, and `start_ws` sends
binary frames that browser clients (vscode-ws-jsonrpc) cannot read. Here every TCP or websocket connection
gets its own server object and session over the shared engines, websocket replies go out as text frames,
and a closed connection cancels only its own requests.

Both listen on 127.0.0.1 unless told otherwise. LSP has no authentication, so TCP refuses any other
address (tunnel it: `ssh -L`); the websocket mode accepts one with a token (`Authorization: Bearer T` or
`?token=T`, since browsers cannot set headers). Browsers are admitted only from local pages unless
`allowed_origins` says otherwise: any web page could otherwise talk to a localhost server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pygls.io_ import run_async

from engine.errors import CodescalerError
from engine.serve.server import is_loopback
from lsp_server.protocol import RejectedMessage
from lsp_server.server import CodescalerServer
from lsp_server.session import Runtime

log = logging.getLogger(__name__)
LOCAL_ORIGIN = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?")


def run_stdio(runtime: Runtime) -> None:
    CodescalerServer(runtime).start_io()


async def _finish(server: CodescalerServer) -> None:
    """A connection ended: stop its requests' work and let go of its engine."""
    for future in list(server.protocol._request_futures.values()):
        future.cancel()
    await server.session.close()


async def serve_tcp(runtime: Runtime, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    if not is_loopback(host):
        raise CodescalerError(
            f"the language server has no authentication over TCP, so it binds 127.0.0.1 only, not {host}: "
            "tunnel it (ssh -L) or use --ws with --ws-token-file"
        )

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = CodescalerServer(runtime)
        stop = threading.Event()
        server.protocol.set_writer(writer)  # type: ignore[arg-type]

        def on_exit() -> None:
            stop.set()
            writer.close()

        server.protocol.on_exit = on_exit
        try:
            await run_async(stop, reader, server.protocol, log, server.report_server_error)  # type: ignore[arg-type]
        finally:
            writer.close()
            await _finish(server)

    listener = await asyncio.start_server(connection, host, port)
    await _announce("tcp", listener.sockets, ready)
    async with listener:
        await listener.serve_forever()


class _TextFrames:
    """pygls writer that sends each message as one websocket text frame."""

    def __init__(self, websocket: Any):
        self.websocket = websocket

    def write(self, data: bytes) -> Any:
        return self.websocket.send(data.decode("utf-8"))

    def close(self) -> Any:
        return self.websocket.close()


async def serve_ws(
    runtime: Runtime,
    host: str,
    port: int,
    token: str | None = None,
    allowed_origins: tuple[str, ...] = (),
    ready: asyncio.Event | None = None,
) -> None:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    if not is_loopback(host) and not token:
        raise CodescalerError(
            f"binding {host} exposes the language server beyond this machine: give --ws-token-file, "
            "or bind 127.0.0.1"
        )

    def admit(connection: Any, request: Any) -> Any:
        origin = request.headers.get("Origin")
        if origin is not None and origin not in allowed_origins and not LOCAL_ORIGIN.fullmatch(origin):
            return connection.respond(403, f"origin {origin} is not allowed (--allow-origin)\n")
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            given = given or parse_qs(urlsplit(request.path).query).get("token", [""])[0]
            if not hmac.compare_digest(given.encode(), token.encode()):
                return connection.respond(401, "missing or wrong token\n")
        return None

    async def connection(websocket: Any) -> None:
        server = CodescalerServer(runtime)
        server.protocol.set_writer(_TextFrames(websocket), include_headers=False)
        server.protocol.on_exit = lambda: asyncio.ensure_future(websocket.close())
        try:
            async for frame in websocket:
                try:
                    message = json.loads(frame, object_hook=server.protocol.structure_message)
                except RejectedMessage as exc:
                    log.warning("%s", exc)
                    continue
                except ValueError:
                    error = {"code": -32700, "message": "Parse error: not JSON"}
                    await websocket.send(json.dumps({"jsonrpc": "2.0", "id": None, "error": error}))
                    continue
                server.protocol.handle_message(message)
        except ConnectionClosed:
            pass
        finally:
            await _finish(server)

    async with serve(connection, host, port, process_request=admit, max_size=None) as listener:
        await _announce("ws", listener.sockets, ready)
        await listener.serve_forever()


async def _announce(scheme: str, sockets: Any, ready: asyncio.Event | None) -> None:
    bound = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in sockets)
    print(f"codescaler language server listening on {scheme}://{bound}", flush=True)
    if ready is not None:
        ready.set()
