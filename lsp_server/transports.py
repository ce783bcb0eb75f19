"""How editors reach the server: stdio (one editor, the default), TCP or websockets (many at once).

pygls' own `start_tcp`/`start_ws` serve one connection and then end the process, and `start_ws` sends
binary frames that browser clients (vscode-ws-jsonrpc) cannot read. Here every TCP or websocket connection
gets its own server object and session over the shared engines, websocket replies go out as text frames,
and a closed connection cancels only its own requests.

Stdio and TCP read LSP's base protocol (`Content-Length` headers, then the body) with `FrameReader`, not
with pygls' `io_.run_async`: that loop keeps a header block's Content-Length only when the line is exactly
`Content-Length: <digits>\r\n`, and reads a body only after a blank line *with* a length. After one header
block it cannot read (`Content-Length: abc`, `-1`, `1e9`, a missing header), the unread body has no line
end, so it is glued to the next frame's header line, which then never matches either: every later message
is lost, while the process stays alive (a deaf session). A Content-Length that is too long swallows the
next frames the same way, and any length is trusted and buffered. `FrameReader` answers what it cannot
read and finds the next frame instead (see its docstring), and refuses frames over a size limit.

Both listen on 127.0.0.1 unless told otherwise. LSP has no authentication, so TCP refuses any other
address (tunnel it: `ssh -L`); the websocket mode accepts one with a token (`Authorization: Bearer T` or
`?token=T`, since browsers cannot set headers). Browsers are admitted only from local pages unless
`allowed_origins` says otherwise: any web page could otherwise talk to a localhost server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pygls.io_ import StdoutWriter

from engine.errors import CodescalerError
from engine.listening import bound_address, listen
from engine.serve.server import is_loopback
from engine.settings import DEFAULTS
from lsp_server.protocol import INVALID_REQUEST, PARSE_ERROR, CodescalerProtocol, parse_json
from lsp_server.server import CodescalerServer
from lsp_server.session import Runtime

log = logging.getLogger(__name__)
LOCAL_ORIGIN = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?")

# `server.max_message_bytes` (engine/settings.py): over it, a frame is skipped, not read.
DEFAULT_MAX_MESSAGE_BYTES: int = DEFAULTS["server"]["max_message_bytes"]
MAX_HEADER_BYTES = 16 * 1024
READ_CHUNK = 64 * 1024
_TAIL = 256  # bytes kept while looking for a frame start: a header line split across two reads

# A header block begins with `Content-Length:` or `Content-Type:` at the start of a line, or with a whole
# `Content-Length: <digits>` line anywhere: the unread body of a bad frame has no line end of its own, so
# the next header is glued to it. No JSON text can hold such a line: outside strings there are no letters,
# and strings cannot hold a raw line end. So finding one inside a body proves the body is not a message.
_AT_LINE_START = re.compile(rb"content-(?:length|type)[ \t]*:", re.IGNORECASE)
_LENGTH_LINE = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)
_LENGTH_NAME = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
# RFC 9110 field names (tokens), so a JSON fragment such as `{"a":1}` is not mistaken for a header line.
_HEADER_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*:[ \t]*(.*?)[ \t]*")


@dataclass(frozen=True)
class Frame:
    """A message body that is JSON, parsed."""

    value: Any


@dataclass(frozen=True)
class FrameError:
    """A frame that could not be read: answered with this error and id null."""

    code: int
    message: str


class _Skip(Exception):
    """The frame at the buffer's start is unreadable; look for the next one `resume` bytes on."""

    def __init__(self, error: FrameError, resume: int):
        super().__init__(error.message)
        self.error = error
        self.resume = resume


class FrameReader:
    """LSP base-protocol frames from a byte stream, resynchronising after anything it cannot read.

    * A header block whose Content-Length is missing or not a byte count (`abc`, `-1`, `1e9`), or whose
      lines are not headers, gets a Parse error (-32700, id null). A second Content-Length line means the
      block never got its blank line: the error is for the first block, and the second line begins a new one.
    * A Content-Length over `max_message_bytes` gets Invalid Request (-32600, id null) and its body is
      skipped, never buffered.
    * A body that is not JSON gets a Parse error. Its declared length is not trusted any further: the search
      for the next frame starts at the body, so a frame that claimed too many bytes gives back the header of
      the frame it ran into.
    * While a body is read, a `Content-Length: <digits>` line inside it ends it early (Parse error): the
      frame was shorter than it claimed, and waiting for the rest would wait on the client's next request.
    * Bytes between frames that no header begins are skipped with a log line.

    After an error the reader looks for the next header block: a `Content-Length:` or `Content-Type:` line
    start, or a whole `Content-Length: <digits>` line anywhere.
    """

    def __init__(
        self, read: Callable[[], Awaitable[bytes]], max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ):
        self._read = read
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._line_start = True  # the buffer's first byte begins a line
        self._eof = False
        self._after_error = False  # skipped bytes are then the rest of an answered frame: no second log
        self._skipped = 0  # bytes skipped outside frames, not yet logged

    def __aiter__(self) -> AsyncIterator[Frame | FrameError]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame | FrameError]:
        while await self._find_frame_start():
            try:
                frame = await self._read_frame()
            except _Skip as skip:
                self._after_error = True  # before the drop: the bad frame is answered, not "skipped"
                self._drop(skip.resume, skipped=True)
                yield skip.error
                continue
            except EOFError:
                log.warning("the input ended inside a frame (%d bytes unread)", len(self._buffer))
                return
            self._after_error = False
            yield frame

    async def _more(self) -> None:
        """Read more bytes; EOFError at the end of the input."""
        if not self._eof:
            data = await self._read()
            if data:
                self._buffer += data
                return
            self._eof = True
        raise EOFError

    def _drop(self, count: int, skipped: bool = False) -> None:
        """Forget the first `count` bytes; `skipped`: they were not part of any frame."""
        if count <= 0:
            return
        if skipped and not self._after_error and bytes(self._buffer[:count]).strip():
            self._skipped += count
        # A frame's end is where the next one starts, whatever the body's last byte.
        self._line_start = not skipped or self._buffer[count - 1] == 0x0A
        del self._buffer[:count]

    def _frame_start(self, start: int) -> int | None:
        """Where the next header block begins, searching from `start` (a fast scan for `content-` first:
        bodies of megabytes pass through here)."""
        buffer = self._buffer
        lowered = bytes(buffer[start:]).lower()
        found = lowered.find(b"content-")
        while found >= 0:
            at = start + found
            at_line_start = buffer[at - 1] == 0x0A if at > 0 else self._line_start
            if _LENGTH_LINE.match(buffer, at) or (at_line_start and _AT_LINE_START.match(buffer, at)):
                return at
            found = lowered.find(b"content-", found + 1)
        return None

    async def _find_frame_start(self) -> bool:
        """Skip to the next header block; False at the end of the input."""
        while True:
            at = self._frame_start(0)
            if at is not None:
                self._drop(at, skipped=True)
                self._log_skipped()
                return True
            self._drop(len(self._buffer) - _TAIL, skipped=True)
            try:
                await self._more()
            except EOFError:
                self._drop(len(self._buffer), skipped=True)
                self._log_skipped()
                return False

    def _log_skipped(self) -> None:
        if self._skipped:
            log.warning("skipped %d bytes that were not in any frame", self._skipped)
            self._skipped = 0

    async def _read_frame(self) -> Frame:
        length, body_start = await self._header_block()
        end = body_start + length
        scanned = body_start
        while len(self._buffer) < end:
            inside = self._frame_start_in_body(max(body_start, scanned - _TAIL))
            if inside is not None:
                raise _Skip(
                    _parse_error(f"a frame began {inside - body_start} bytes into a body of {length}"), inside
                )
            scanned = len(self._buffer)
            await self._more()
        body = bytes(self._buffer[body_start:end])
        try:
            value = parse_json(body)
        except ValueError as exc:
            raise _Skip(FrameError(PARSE_ERROR, f"Parse error: {exc}"), body_start) from None
        self._drop(end)
        return Frame(value)

    def _frame_start_in_body(self, start: int) -> int | None:
        at = self._frame_start(start)
        while at is not None and not _LENGTH_LINE.match(self._buffer, at):
            at = self._frame_start(at + 1)  # only a whole Content-Length line proves a new frame
        return at

    async def _header_block(self) -> tuple[int, int]:
        """(Content-Length, where the body starts) of the header block at the buffer's start."""
        first_name = _AT_LINE_START.match(self._buffer) or _LENGTH_NAME.match(self._buffer)
        assert first_name is not None  # the buffer starts where _frame_start found a block
        pos, length, declared, problem, seen_length = 0, None, b"", None, False
        while True:
            newline = self._buffer.find(b"\n", pos)
            if newline < 0 or newline >= MAX_HEADER_BYTES:
                if len(self._buffer) >= MAX_HEADER_BYTES:
                    raise _Skip(
                        _parse_error(f"a header block over {MAX_HEADER_BYTES} bytes"), first_name.end()
                    )
                await self._more()
                continue
            line = bytes(self._buffer[pos:newline]).rstrip(b"\r")
            if not line:
                break
            header = _HEADER_LINE.fullmatch(line)
            if header is None or _LENGTH_NAME.search(line, 1):  # not a header, or a frame began inside it
                raise _Skip(_parse_error(f"not a header line: {_show(line)}"), pos or first_name.end())
            name, value = header.group(1).lower(), header.group(2)
            if name == b"content-length":
                if seen_length:  # the block had no blank line: this line starts the next frame
                    raise _Skip(_parse_error("a header block without the blank line after it"), pos)
                seen_length = True
                if not value.isdigit():
                    problem = f"Content-Length {_show(value)} is not a byte count"
                else:
                    length = int(value) if len(value) <= 18 else self.max_message_bytes + 1
                    declared = value
            pos = newline + 1
        body_start = newline + 1
        if problem is not None or length is None:
            raise _Skip(_parse_error(problem or "a header block without Content-Length"), body_start)
        if length > self.max_message_bytes:
            message = (
                f"Invalid Request: a message of {_show(declared)} bytes is over the "
                f"limit of {self.max_message_bytes} bytes; it was skipped"
            )
            raise _Skip(FrameError(INVALID_REQUEST, message), body_start)
        return length, body_start


def _parse_error(problem: str) -> FrameError:
    return FrameError(PARSE_ERROR, f"Parse error: unreadable frame: {problem}")


def _show(raw: bytes) -> str:
    return repr(raw[:40])[1:] + ("..." if len(raw) > 40 else "")


async def serve_frames(
    frames: FrameReader, protocol: CodescalerProtocol, stop: threading.Event | None = None
) -> None:
    """Hand each frame to the protocol until the input ends, `stop` is set or the client is gone."""
    async for frame in frames:
        try:
            if isinstance(frame, FrameError):
                protocol.answer_error(None, frame.code, frame.message)
            else:
                protocol.receive(frame.value)
        except (BrokenPipeError, ConnectionError):
            raise
        except Exception:  # a bug must cost one message, not the session
            log.exception("could not handle a message")
        if stop is not None and stop.is_set():
            return
        # Let the handler this message started run up to its first wait before the next message is
        # handled: messages already buffered would otherwise overtake it (a `didChangeConfiguration` must
        # apply before the request that follows it).
        await asyncio.sleep(0)


class _StdinChunks:
    """stdin in chunks, read by a daemon thread. pygls reads it with `readline` in a thread pool: a line
    has no length limit, and concurrent.futures joins its threads at exit, so a read blocked on an editor
    that keeps stdin open would keep the process from ending."""

    def __init__(self, fd: int):
        self._fd = fd
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4)  # backpressure: at most 4 chunks ahead
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._pump, name="codescaler-stdin", daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self._fd, READ_CHUNK)
            except OSError:
                data = b""
            try:
                asyncio.run_coroutine_threadsafe(self._queue.put(data), self._loop).result()
            except Exception:  # the loop is gone: the server is ending
                return
            if not data:
                return

    async def read(self) -> bytes:
        return await self._queue.get()


def run_stdio(runtime: Runtime, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
    """Serve one editor over stdin/stdout until it sends exit or closes stdin (as pygls' start_io)."""
    server = CodescalerServer(runtime)
    stop = threading.Event()
    server._stop_event = stop  # pygls' shutdown() sets it
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))

    async def serve() -> None:
        await serve_frames(
            FrameReader(_StdinChunks(sys.stdin.fileno()).read, max_message_bytes), server.protocol, stop
        )

    try:
        asyncio.run(serve())
    except BrokenPipeError:
        log.error("the editor closed the connection")
    except (KeyboardInterrupt, SystemExit):  # exit ends pygls' lsp_exit with sys.exit
        pass
    finally:
        server.shutdown()


async def _finish(server: CodescalerServer) -> None:
    """A connection ended: stop its requests' work and let go of its engine."""
    for future in list(server.protocol._request_futures.values()):
        future.cancel()
    await server.session.close()


async def serve_tcp(
    runtime: Runtime,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> None:
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
            await serve_frames(
                FrameReader(lambda: reader.read(READ_CHUNK), max_message_bytes), server.protocol, stop
            )
        finally:
            writer.close()
            await _finish(server)

    listener = await asyncio.start_server(connection, sock=listen(host, port))
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
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> None:
    """Websocket frames delimit messages, so there is nothing to resynchronise; a frame over
    `max_message_bytes` closes the connection (1009, message too big) before it is buffered."""
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
                    server.protocol.receive_body(frame)
                except Exception:  # a bug must cost one message, not the session
                    log.exception("could not handle a message")
                await asyncio.sleep(0)  # as in serve_frames: handlers run in the order messages came
        except ConnectionClosed:
            pass
        finally:
            await _finish(server)

    sock = listen(host, port)
    async with serve(connection, sock=sock, process_request=admit, max_size=max_message_bytes) as listener:
        await _announce("ws", listener.sockets, ready)
        await listener.serve_forever()


async def _announce(scheme: str, sockets: Any, ready: asyncio.Event | None) -> None:
    bound = ", ".join(bound_address(sock) for sock in sockets)
    print(f"codescaler language server listening on {scheme}://{bound}", flush=True)
    if ready is not None:
        ready.set()
