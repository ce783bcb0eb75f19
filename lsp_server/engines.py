"""The engines behind the language server: a `Ranker` from `engine.ranker.connect`, with a state editors see.

The same code serves a laptop (models loaded in this process) and a team's GPU host (a remote
`codescaler serve`, reconnected whenever it restarts): both are a `Ranker` taking typed requests.
Cancelling the awaiting task stops the engine work, through the request's cancel event.

Engines are shared: every editor connection of one server process with the same model settings uses one
loaded model pair (the websocket mode serves many browser tabs). An engine reports its state (`loading`,
`ready`, `error`) to listeners, which turn it into `$/progress`, status notifications and messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import CodescalerError, first_line
from engine.generation.base import Cancelled
from engine.protocol import FeedbackReport, RankRequest, RankResult
from engine.ranker import Ranker, connect
from engine.settings import Settings

log = logging.getLogger(__name__)

Listener = Callable[[str, str], None]  # (state, detail)
CONNECT_TIMEOUT_S = 5.0


class EngineUnavailable(CodescalerError):
    """The engine cannot answer now (loading failed, or a remote engine is unreachable)."""


class SharedEngine:
    """One `Ranker` shared by the sessions that use the same model settings, and its state."""

    def __init__(self, settings: Settings):
        self.state = "loading"
        self._listeners: list[Listener] = []
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # Requests wait in these threads while the ranker works: enough for the reward work of several
        # requests to meet in one batch (the policy runs one request at a time anyway).
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="codescaler-lsp-engine")
        self.remote = settings.engine_url is not None
        self.description = (
            f"engine at {settings.engine_url}" if self.remote else f"models {settings.models.label}"
        )
        self.detail = (
            f"connecting to the {self.description}" if self.remote else f"loading {self.description}"
        )
        self.ranker: Ranker | None = None
        if self.remote:
            self.ranker = connect(settings, reconnect=True, on_state=self._state_from_thread)
            self._loading: asyncio.Future = self._loop.create_future()
            self._loading.set_result(self.ranker)
        else:  # in a thread, so the editor gets `initialize` answered at once
            self._loading = asyncio.ensure_future(self._loop.run_in_executor(self._pool, connect, settings))
            self._loading.add_done_callback(self._loaded)

    def _state_from_thread(self, state: str, detail: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._set_state, state, detail)

    def _loaded(self, future: asyncio.Future) -> None:
        if future.cancelled():
            return
        if (exc := future.exception()) is not None:
            if not isinstance(exc, CodescalerError):
                log.error("loading the models failed", exc_info=exc)
            self._set_state("error", f"cannot load the models: {first_line(exc)}")
            return
        self.ranker = future.result()
        self._set_state("ready", self.description)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)
        listener(self.state, self.detail)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _set_state(self, state: str, detail: str = "") -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in list(self._listeners):
            listener(state, detail)

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Return once the engine is ready; raise `EngineUnavailable` when it is (or stays) in error."""
        deadline = None if timeout_s is None else self._loop.time() + timeout_s
        while self.state != "ready":
            if self.state == "error" and timeout_s is None:
                raise EngineUnavailable(self.detail)
            remaining = None if deadline is None else deadline - self._loop.time()
            if remaining is not None and remaining <= 0:
                raise EngineUnavailable(self.detail or f"{self.description} is not ready")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def until_ready(self) -> None:
        """Wait for the engine as a request would: models load for as long as they take; a remote engine
        that is down gets a few seconds to come back (requests time their own work only after this)."""
        await self.wait_ready(timeout_s=CONNECT_TIMEOUT_S if self.remote else None)

    async def rank(self, request: RankRequest) -> RankResult:
        await self.until_ready()
        assert self.ranker is not None
        cancel = threading.Event()
        # Shielded: a cancelled caller returns at once, while the work runs on until it sees `cancel`
        # (the policy checks it at every token), so the counts say when it really stopped.
        work = self._loop.run_in_executor(self._pool, self.ranker.rank, request, cancel)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            cancel.set()
            raise
        except Cancelled as exc:
            raise asyncio.CancelledError() from exc

    def report(self, report: FeedbackReport) -> None:
        """Pass a feedback report to the ranker (a remote engine records it), off the event loop."""
        if self.ranker is not None:
            self._pool.submit(self.ranker.report, report)

    def stats(self) -> dict[str, Any]:
        return {"state": self.state, **(self.ranker.stats() if self.ranker is not None else {})}

    async def close(self) -> None:
        with contextlib.suppress(BaseException):
            await self._loading
        if self.ranker is not None:
            await self._loop.run_in_executor(self._pool, self.ranker.close)
        self._pool.shutdown(wait=False, cancel_futures=True)


class EngineRegistry:
    """One engine per distinct model setting, shared by the sessions that use it.

    An engine nobody uses stays loaded (a reloaded browser tab must not reload the models) until a session
    asks for different models; then it is closed, so at most the models in use plus one stay in memory.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple, SharedEngine] = {}
        self._users: dict[tuple, int] = {}

    @staticmethod
    def _key(settings: Settings) -> tuple:
        if settings.engine_url:
            return ("remote", settings.engine_url, settings.engine_token)
        return ("local", settings.models)

    def acquire(self, settings: Settings) -> SharedEngine:
        key = self._key(settings)
        if key not in self._engines:
            for unused in [k for k, users in self._users.items() if users == 0]:
                engine = self._engines.pop(unused)
                del self._users[unused]
                asyncio.get_running_loop().create_task(engine.close())
            self._engines[key] = SharedEngine(settings)
        self._users[key] = self._users.get(key, 0) + 1
        return self._engines[key]

    def release(self, engine: SharedEngine) -> None:
        for key, known in self._engines.items():
            if known is engine:
                self._users[key] -= 1

    async def close(self) -> None:
        for engine in list(self._engines.values()):
            await engine.close()
        self._engines.clear()
        self._users.clear()
