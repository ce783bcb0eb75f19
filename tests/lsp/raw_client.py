"""A minimal JSON-RPC client over a real server process's stdio or a TCP connection, for what typed
clients cannot send: malformed params, the array-shaped range of vscode-languageclient 9, floods, raw
cancels, and raw bytes (broken frames) for the boundary tests."""

from __future__ import annotations

import itertools
import json
import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO


class RawLspClient:
    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None):
        """Start `command` and talk to it over its stdin/stdout (None: the caller connects; see `tcp`)."""
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.ids = itertools.count(1)
        self.inbox: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr: list[bytes] = []
        self.read_error: BaseException | None = None  # set when the server wrote something unreadable
        self.configuration: dict[str, Any] = {}  # answers to workspace/configuration, by section
        self._write_lock = threading.Lock()  # the reading thread answers server requests too
        self._closing = False
        self.ended = threading.Event()  # the server closed its side (the process's stdout, the socket)
        if command is not None:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **(env or {})},
            )
            threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
            self._start_reading(self.process.stdout)

    @classmethod
    def tcp(cls, host: str, port: int, timeout_s: float = 30) -> RawLspClient:
        """A client on a TCP connection to a running `codescaler lsp --tcp`."""
        client = cls()
        client.sock = socket.create_connection((host, port), timeout=timeout_s)
        client.sock.settimeout(None)
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # split writes stay split
        client._start_reading(client.sock.makefile("rb"))
        return client

    def _start_reading(self, stream: BinaryIO) -> None:
        threading.Thread(target=self._read_safely, args=(stream,), daemon=True).start()

    def _read_safely(self, stream: BinaryIO) -> None:
        try:
            self._read(stream)
        except Exception as exc:  # a broken frame from the server: the tests must see it
            if not self._closing:
                self.read_error = exc
        finally:
            self.ended.set()

    def _read(self, stream: BinaryIO) -> None:
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b"\n"):
                    break
            if length is None:
                raise ValueError("the server sent a header block without Content-Length")
            body = stream.read(length)
            if len(body) < length:
                return
            message = json.loads(body)
            if "method" in message and "id" in message:  # a server->client request: answer it
                result = None
                if message["method"] == "workspace/configuration":
                    items = message["params"]["items"]
                    result = [self.configuration.get(item.get("section")) for item in items]
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
                self.notifications.append(message)
            elif "method" in message:
                self.notifications.append(message)
            else:
                self.inbox.put(message)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are: frames, broken frames, anything."""
        with self._write_lock:
            if self.sock is not None:
                self.sock.sendall(data)
            else:
                self.process.stdin.write(data)
                self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_raw(frame(message))

    def request_id(self, method: str, params: Any) -> int:
        request_id = next(self.ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, request_id: int | str, timeout_s: float = 60) -> dict:
        deadline = time.monotonic() + timeout_s
        held = []
        try:
            while True:
                message = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
                if message.get("id") == request_id:
                    return message
                held.append(message)
        finally:
            for message in held:
                self.inbox.put(message)

    def collect(self, request_id: int | str, timeout_s: float = 60) -> list[dict]:
        """Every answer received up to and including the one to `request_id`, in order, taken out of the
        inbox. The server answers in the order it reads, so with a synchronous last request this is all
        that the messages sent before it got."""
        deadline = time.monotonic() + timeout_s
        answers = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to {request_id!r} in {timeout_s} s; got {answers}")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            answers.append(message)
            if message.get("id") == request_id:
                return answers

    def request(self, method: str, params: Any, timeout_s: float = 60) -> dict:
        return self.wait(self.request_id(method, params), timeout_s)

    def initialize(self, options: dict | None = None, capabilities: dict | None = None) -> dict:
        reply = self.request(
            "initialize",
            {"processId": None, "rootUri": None, "capabilities": capabilities or {},
             "initializationOptions": options or {}},
        )  # fmt: skip
        self.notify("initialized", {})
        return reply

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}})  # fmt: skip

    def close(self) -> int | None:
        """shutdown and exit; a process's exit code (killed if it does not end)."""
        self._closing = True
        if self.sock is not None and self.ended.is_set():
            self.sock.close()
            return None
        if self.sock is not None:
            try:
                self.request("shutdown", None, timeout_s=10)
                self.notify("exit", None)
            except (OSError, queue.Empty):
                pass
            self.sock.close()
            return None
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout_s=10)
                self.notify("exit", None)
                return self.process.wait(10)
            except Exception:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def frame(message: Any) -> bytes:
    """`message` as one LSP base-protocol frame."""
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def start_listening(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a `codescaler lsp --tcp/--ws` process in its own session (stop it with
    tests.conftest.stop_process_group) and wait for its 'listening on' line; its log goes to `log`."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True, text=True
        )
    line = process.stdout.readline()
    assert "listening on" in line, log.read_text()
    return process
