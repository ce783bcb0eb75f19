"""The engine behind the language server: in-process models or a remote `codescaler serve`.

Both speak the engine protocol's rank messages (docs/engine-protocol.md), so the server code is the same
for a laptop and for a team's GPU host. Cancelling the awaiting task stops the engine work: in process by
setting the request's cancel event, remotely by sending a `cancel` message.

Engines are shared: every editor connection of one server process with the same model settings uses one
loaded model pair (the websocket mode serves many browser tabs). An engine reports its state (`loading`,
`ready`, `error`) to listeners, which turn it into `$/progress`, status notifications and messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from engine.errors import CodescalerError, first_line
from engine.model_spec import ModelSpec
from lsp_server.settings import DEFAULTS

log = logging.getLogger(__name__)

Listener = Callable[[str, str], None]  # (state, detail)


class EngineUnavailable(CodescalerError):
    """The engine cannot answer now (loading failed, or a remote engine is unreachable)."""


class Engine:
    """State tracking shared by both kinds of engine."""

    description = "engine"

    def __init__(self) -> None:
        self.state = "loading"
        self.detail = ""
        self._listeners: list[Listener] = []
        self._changed = asyncio.Event()

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
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while self.state != "ready":
            if self.state == "error" and timeout_s is None:
                raise EngineUnavailable(self.detail)
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise EngineUnavailable(self.detail or f"{self.description} is not ready")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def until_ready(self) -> None:
        """Wait for the engine as a request would (requests time their own work only after this)."""
        await self.wait_ready()

    async def rank(self, message: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        return {"state": self.state}

    async def close(self) -> None:
        """Release the engine's resources."""


class LocalEngine(Engine):
    """Models loaded in this process (in a thread, so the editor gets `initialize` answered at once)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.description = f"models {spec.label}"
        self.detail = f"loading {self.description}"
        self._stack = ExitStack()
        self._service: Any = None
        self.counts = {"completed": 0, "cancelled": 0, "failed": 0}
        self._loading = asyncio.get_running_loop().run_in_executor(None, self._load)
        self._loading.add_done_callback(self._loaded)

    def _load(self) -> Any:
        from engine.serve.protocol import Limits
        from engine.serve.service import EngineService

        generator, scorer = self.spec.load(self._stack)
        # Still "loading": the first completion must not pay for compiling (graph decode, default N).
        generator.warm_up(DEFAULTS["completion"]["n"])
        limits = Limits(max_n=64, max_new_tokens=1024, max_payload_bytes=64 << 20)
        return EngineService(
            generator, scorer, fim_template=self.spec.fim_template, models=self.spec.label, limits=limits
        )

    def _loaded(self, future: asyncio.Future) -> None:
        if future.cancelled():
            return
        if (exc := future.exception()) is not None:
            if not isinstance(exc, CodescalerError):
                log.error("loading the models failed", exc_info=exc)
            self._set_state("error", f"cannot load the models: {first_line(exc)}")
            return
        self._service = future.result()
        self._set_state("ready", self.description)

    async def rank(self, message: dict[str, Any]) -> dict[str, Any]:
        from engine.generation.base import Cancelled

        await self.until_ready()
        cancel = threading.Event()
        # Shielded: a cancelled caller returns at once, while the work runs on until it sees `cancel`
        # (the policy checks it at every token), so the counts and `in_flight` say when it really stopped.
        work = asyncio.ensure_future(self._service.handle(message, cancel))
        work.add_done_callback(self._count)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            cancel.set()
            raise
        except Cancelled as exc:
            raise asyncio.CancelledError() from exc

    def _count(self, work: asyncio.Future) -> None:
        from engine.generation.base import Cancelled

        exc = None if work.cancelled() else work.exception()
        outcome = "completed" if exc is None else "cancelled" if isinstance(exc, Cancelled) else "failed"
        self.counts[outcome] += 1

    def stats(self) -> dict[str, Any]:
        if self._service is None:
            return super().stats()
        return {"state": self.state, **self._service.stats(), **self.counts}

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._loading
        if self._service is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._service.close)
        self._stack.close()


class RemoteEngine(Engine):
    """A `codescaler serve` over websockets, reconnecting with backoff whenever the connection drops."""

    def __init__(self, url: str, token: str | None = None, connect_timeout_s: float = 5.0):
        super().__init__()
        self.url = url
        self.description = f"engine at {url}"
        self._token = token
        self._connect_timeout_s = connect_timeout_s
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self._ws: Any = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _connect(self) -> Any:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            return await connect(
                self.url, additional_headers=headers, open_timeout=self._connect_timeout_s, max_size=None
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            hint = ": set the engine token (models.token or CODESCALER_ENGINE_TOKEN)" if status == 401 else ""
            raise EngineUnavailable(
                f"the engine at {self.url} refused the connection ({status}){hint}"
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise EngineUnavailable(
                f"cannot reach the engine at {self.url}: {first_line(exc)}; is codescaler serve running?"
            ) from exc

    async def _run(self) -> None:
        """Connect, read replies until the connection drops, then reconnect (0.5 s doubling to 10 s)."""
        from websockets.exceptions import ConnectionClosed

        delay = 0.5
        while True:
            try:
                self._ws = await self._connect()
            except EngineUnavailable as exc:
                self._set_state("error", str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            self._set_state("ready", self.description)
            try:
                async for frame in self._ws:
                    reply = json.loads(frame)
                    future = self._pending.get(reply.get("id"))
                    if future is not None and not future.done():
                        future.set_result(reply)
            except ConnectionClosed:
                pass
            self._ws = None
            lost = EngineUnavailable(f"lost the connection to the engine at {self.url}; reconnecting")
            self._set_state("error", str(lost))
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(lost)

    async def until_ready(self) -> None:
        await self.wait_ready(timeout_s=self._connect_timeout_s)

    async def rank(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.until_ready()
        request_id = f"lsp{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        ws = self._ws
        try:
            await ws.send(json.dumps({**message, "type": "rank", "id": request_id}, ensure_ascii=False))
            reply = await future
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await ws.send(json.dumps({"type": "cancel", "id": request_id}))
            raise
        except Exception as exc:
            if isinstance(exc, CodescalerError):
                raise
            raise EngineUnavailable(f"engine at {self.url}: {first_line(exc)}") from exc
        finally:
            self._pending.pop(request_id, None)
        if reply["type"] == "cancelled":
            raise asyncio.CancelledError()
        if reply["type"] == "error":
            raise CodescalerError(f"engine: {reply['error']}")
        return reply

    def stats(self) -> dict[str, Any]:
        return {"state": self.state, "url": self.url, "pending": len(self._pending)}

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        if self._ws is not None:
            await self._ws.close()


class EngineRegistry:
    """One engine per distinct model setting, shared by the sessions that use it.

    An engine nobody uses stays loaded (a reloaded browser tab must not reload the models) until a session
    asks for different models; then it is closed, so at most the models in use plus one stay in memory.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple, Engine] = {}
        self._users: dict[tuple, int] = {}

    def acquire(self, spec: ModelSpec, url: str | None, token: str | None) -> Engine:
        key: tuple = ("remote", url, token) if url else ("local", spec)
        if key not in self._engines:
            for unused in [k for k, users in self._users.items() if users == 0]:
                engine = self._engines.pop(unused)
                del self._users[unused]
                asyncio.get_running_loop().create_task(engine.close())
            self._engines[key] = RemoteEngine(url, token) if url else LocalEngine(spec)
        self._users[key] = self._users.get(key, 0) + 1
        return self._engines[key]

    def release(self, engine: Engine) -> None:
        for key, known in self._engines.items():
            if known is engine:
                self._users[key] -= 1

    async def close(self) -> None:
        for engine in list(self._engines.values()):
            await engine.close()
        self._engines.clear()
        self._users.clear()
