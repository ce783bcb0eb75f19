"""What the user sees of the engine's health, instead of silent failure.

* `codescaler/status` notifications (`{"state": "loading|ready|slow|error", "message": ...}`) for
  status bars in the editor extensions, sent whenever the state changes;
* `$/progress` while the models load, when the client supports work-done progress;
* `window/showMessage` once per kind of trouble per session (a failing engine, a slow one), because
  repeating a popup on every keystroke is worse than the problem;
* `window/logMessage` with the details of every failure.
"Slow" follows Tabby's guardrail: the mean latency of the last requests over `slow_s` (default 3 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from typing import Any

from lsprotocol import types

log = logging.getLogger(__name__)
STATUS_NOTIFICATION = "codescaler/status"
WINDOW = 5


class StatusReporter:
    """Status of one editor session."""

    def __init__(self, server: Any, slow_s: float):
        self.server = server
        self.slow_s = slow_s
        self.engine_state = "loading"
        self.engine_detail = ""
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self.state: str | None = None
        self.message = ""
        self._shown: set[str] = set()
        self._progress_token: str | None = None
        self._progress_task: asyncio.Task | None = None

    def _publish(self) -> None:
        if self.engine_state != "ready":
            state, message = self.engine_state, self.engine_detail
        elif len(self.latencies) >= 3 and sum(self.latencies) / len(self.latencies) > self.slow_s:
            mean = sum(self.latencies) / len(self.latencies)
            state = "slow"
            message = (
                f"completions take {mean:.1f} s on average; ask for fewer candidates (completion.n) "
                "or use a GPU engine"
            )
        else:
            state, message = "ready", self.engine_detail
        if (state, message) == (self.state, self.message):
            return
        self.state, self.message = state, message
        self.server.protocol.notify(STATUS_NOTIFICATION, {"state": state, "message": message})
        if state in ("error", "slow") and state not in self._shown:
            self._shown.add(state)
            kind = types.MessageType.Error if state == "error" else types.MessageType.Warning
            self.show(f"codescaler: {message}", kind)

    def show(self, message: str, kind: types.MessageType) -> None:
        self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.server.window_log_message(types.LogMessageParams(type=kind, message=message))

    def on_engine(self, state: str, detail: str) -> None:
        """Engine listener: loading / ready / error."""
        self.engine_state, self.engine_detail = state, detail
        if state == "error":
            self.log(f"codescaler: {detail}", types.MessageType.Error)
        elif state == "ready":
            self._shown.discard("error")  # a later failure is news again
            self.log(f"codescaler: ready ({detail})")
        self._progress(state)
        self._publish()

    def request_done(self, latency_s: float) -> None:
        self.latencies.append(latency_s)
        self._publish()

    def request_failed(self, message: str) -> None:
        self.log(f"codescaler: completion failed: {message}", types.MessageType.Error)

    def _progress(self, state: str) -> None:
        capabilities = self.server.client_capabilities
        supported = capabilities.window is not None and capabilities.window.work_done_progress
        if not supported:
            return
        if state == "loading" and self._progress_token is None:
            self._progress_token = f"codescaler-load-{uuid.uuid4().hex[:8]}"
            self._progress_task = asyncio.get_running_loop().create_task(self._begin(self._progress_token))
        elif state != "loading" and self._progress_token is not None:
            token, self._progress_token = self._progress_token, None
            message = "models ready" if state == "ready" else "loading failed"
            begun = self._progress_task  # the end is sent after the begin, and the task is kept referenced
            self._progress_task = asyncio.get_running_loop().create_task(self._end(token, message, begun))

    async def _begin(self, token: str) -> None:
        with contextlib.suppress(Exception):
            await self.server.work_done_progress.create_async(token)
            self.server.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title="codescaler", message="loading models")
            )

    async def _end(self, token: str, message: str, begun: asyncio.Task | None) -> None:
        if begun is not None:
            await begun
        with contextlib.suppress(Exception):
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
