"""A minimal JSON-RPC client over a real server process's stdio, for what typed clients cannot send:
malformed params, the array-shaped range of vscode-languageclient 9, floods, raw cancels."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import threading
import time
from typing import Any


class RawLspClient:
    def __init__(self, command: list[str], env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.ids = itertools.count(1)
        self.inbox: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr: list[bytes] = []
        self.configuration: dict[str, Any] = {}  # answers to workspace/configuration, by section
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
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
            message = json.loads(stream.read(length))
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

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def request_id(self, method: str, params: Any) -> int:
        request_id = next(self.ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, request_id: int, timeout_s: float = 60) -> dict:
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

    def close(self) -> int:
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout_s=10)
                self.notify("exit", None)
                return self.process.wait(10)
            except Exception:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
