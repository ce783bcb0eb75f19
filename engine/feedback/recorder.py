"""Writing feedback off the request path: a queue and one writer thread per database.

A completion never waits for the database and never fails because of it. Records go into a bounded
queue (`put_nowait`: a full queue drops the record and counts it) and a thread writes them in batches,
one transaction each. A database that cannot be opened or written (locked past its timeout, read-only,
full, corrupt, unreachable) is named in one log line per kind of trouble; the writer retries with the
next batch (opening again at most every `REOPEN_S`), so a fixed database is used again without a restart.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
from typing import Any

from engine.feedback.location import Database
from engine.feedback.records import Event, RequestRecord
from engine.feedback.store import Store, StoreError

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
BATCH_LIMIT = 500
REOPEN_S = 10.0
_STOP = object()


class FeedbackRecorder:
    """Records for one database, shared by every session of a process that writes there."""

    def __init__(self, database: Database):
        self.database = database
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._idle = threading.Condition()
        self._pending = 0
        self.counts = {"written": 0, "dropped": 0, "failed": 0}
        self.problem: str | None = None
        self._logged: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="codescaler-feedback", daemon=True)
        self._thread.start()

    def put(self, entry: RequestRecord | Event) -> None:
        """Queue `entry`; never blocks, never raises."""
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.counts["dropped"] += 1
            self._done(1)
            self._report(f"feedback database {self.database.name}: writes fall behind, dropping records")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was written (or given up on); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to `timeout`), then stop the thread."""
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        return {"db": self.database.name, **self.counts, "pending": self._pending, "problem": self.problem}

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            self._idle.notify_all()

    def _report(self, message: str) -> None:
        self.problem = message
        if message not in self._logged:
            self._logged.add(message)
            log.warning("%s; suggestions go on without it", message)

    def _run(self) -> None:
        store: Store | None = None
        last_open = -REOPEN_S
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_LIMIT:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(entry is _STOP for entry in batch)
            entries = [entry for entry in batch if entry is not _STOP]
            if store is None and time.monotonic() - last_open >= REOPEN_S:
                last_open = time.monotonic()
                try:
                    store = Store(self.database)
                except StoreError as exc:
                    self._report(str(exc))
            if entries:
                if store is None:
                    self.counts["failed"] += len(entries)
                else:
                    try:
                        store.write(entries)
                        self.counts["written"] += len(entries)
                        self.problem = None
                    except StoreError as exc:
                        self.counts["failed"] += len(entries)
                        self._report(str(exc))
                        store.close()  # a broken connection is opened again with the next batch
                        store, last_open = None, -REOPEN_S
            self._done(len(entries))
            if stop:
                if store is not None:
                    store.close()
                return


_recorders: dict[Database, FeedbackRecorder] = {}
_lock = threading.Lock()


def recorder_for(database: Database) -> FeedbackRecorder:
    """The process's recorder for `database` (made on first use)."""
    with _lock:
        if not _recorders:
            atexit.register(close_all)
        if database not in _recorders:
            _recorders[database] = FeedbackRecorder(database)
        return _recorders[database]


def close_all() -> None:
    """Write what is queued before the process ends (a server shutting down, a command finishing)."""
    with _lock:
        recorders = list(_recorders.values())
        _recorders.clear()
    for recorder in recorders:
        recorder.close()
