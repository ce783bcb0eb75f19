"""A small synchronous client of the engine service, used by `codescaler rank --engine` and the language
server. One connection; requests are answered in order of completion and matched by id."""

from __future__ import annotations

import itertools
import json
from typing import Any

from engine.errors import CodescalerError, first_line


class EngineClient:
    """Connects to `url` (ws://HOST:PORT) with an optional bearer `token`."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 120.0):
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        try:
            self._ws = connect(url, additional_headers=headers, open_timeout=timeout_s, max_size=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            hint = ": pass the engine's token (--token)" if status == 401 else ""
            raise CodescalerError(f"the engine at {url} refused the connection ({status}){hint}") from exc
        except (OSError, TimeoutError) as exc:
            raise CodescalerError(
                f"cannot reach the engine at {url}: {first_line(exc)}; is codescaler serve running?"
            ) from exc

    def send(self, message: dict[str, Any]) -> Any:
        """Send a request (an id is added when missing) and return its id."""
        message.setdefault("id", f"r{next(self._ids)}")
        self._ws.send(json.dumps(message, ensure_ascii=False))
        return message["id"]

    def receive(self) -> dict[str, Any]:
        return json.loads(self._ws.recv(timeout=self.timeout_s))

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a request and wait for its answer; an `error` answer raises CodescalerError."""
        request_id = self.send(message)
        while True:
            reply = self.receive()
            if reply.get("id") != request_id:
                continue
            if reply["type"] == "error":
                raise CodescalerError(f"engine: {reply['error']}")
            return reply

    def cancel(self, request_id: Any) -> None:
        self._ws.send(json.dumps({"type": "cancel", "id": request_id}))

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
