"""Latest request wins, per key (a document and a feature), with a debounce for automatic triggers.

Editors ask on every keystroke. A newer request for the same document cancels the older one's engine work
(its reply is then empty: the user has moved on), an automatic request first waits `debounce_s` so a burst
of keystrokes costs one engine call, and at most `max_concurrent` engine calls of one session run at once
(requests for many documents at once queue instead of flooding a shared GPU).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Superseded(Exception):
    """A newer request for the same document replaced this one."""


class LatestWins:
    def __init__(self, max_concurrent: int = 4):
        self._running: dict[str, asyncio.Task] = {}
        self._slots = asyncio.Semaphore(max_concurrent)
        self.superseded = 0

    async def _delayed(self, debounce_s: float, work: Callable[[], Awaitable[T]]) -> T:
        if debounce_s > 0:
            await asyncio.sleep(debounce_s)
        async with self._slots:
            return await work()

    async def run(self, key: str, debounce_s: float, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` for `key` after `debounce_s`; raises `Superseded` when a newer call for `key` came.
        Cancelling the caller cancels the work."""
        previous = self._running.get(key)
        if previous is not None and not previous.done():
            previous.cancel()
            self.superseded += 1
        task = asyncio.ensure_future(self._delayed(debounce_s, work))
        self._running[key] = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                raise Superseded() from None
            raise
        finally:
            if self._running.get(key) is task:
                del self._running[key]
