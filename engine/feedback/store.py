"""The feedback database: SQLite (the standard library's `sqlite3`) or PostgreSQL (psycopg 3), one schema.

SQLite runs in WAL mode with `synchronous=NORMAL`: a writer never blocks readers (`feedback stats` while
the editor works), and a committed transaction survives the process being killed. The schema has a
version in `meta`; opening a database runs the migrations it lacks, in one transaction, and refuses a
database written by a newer codescaler rather than guess at its tables. The SQL is written once, in the
dialect both engines share (`?` placeholders become `%s` for psycopg).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from engine.errors import CodescalerError, first_line
from engine.feedback.location import Database
from engine.feedback.records import Event, RequestRecord, ShownItem
from engine.protocol import ContextSnippet

SCHEMA_VERSION = 2
POSTGRES_OPTIONS = "-c lock_timeout=2000 -c statement_timeout=10000"
# MIGRATIONS[i] takes a database from version i to i + 1.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY, session TEXT NOT NULL, time DOUBLE PRECISION NOT NULL,
            source TEXT NOT NULL, feature TEXT NOT NULL, outcome TEXT NOT NULL,
            language TEXT, path_hash TEXT, line_mode TEXT, policy TEXT, reward_model TEXT,
            total_ms DOUBLE PRECISION, engine_ms DOUBLE PRECISION, generate_ms DOUBLE PRECISION,
            score_ms DOUBLE PRECISION, cache TEXT, path TEXT, document TEXT, cursor INTEGER,
            accepted_rank INTEGER, accepted_chars INTEGER, outcome_time DOUBLE PRECISION)""",
        """CREATE TABLE items (
            request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE, rank INTEGER NOT NULL,
            length INTEGER NOT NULL, reward DOUBLE PRECISION NOT NULL, score DOUBLE PRECISION,
            valid INTEGER, text TEXT, replace_chars INTEGER NOT NULL, shown INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (request_id, rank))""",
        "CREATE INDEX requests_by_time ON requests (time)",
    ),
    # 2: the repository context the request's prompt and reward input carried (JSON), for feedback pairs.
    ("ALTER TABLE requests ADD COLUMN context TEXT",),
]
REQUEST_COLUMNS = (
    "id", "session", "time", "source", "feature", "outcome", "language", "path_hash", "line_mode", "policy",
    "reward_model", "total_ms", "engine_ms", "generate_ms", "score_ms", "cache", "path", "document", "cursor",
    "accepted_rank", "accepted_chars", "outcome_time", "context",
)  # fmt: skip
ITEM_COLUMNS = ("rank", "length", "reward", "score", "valid", "text", "replace_chars", "shown")
# Event kind -> the update it makes. An accept is final; a partial accept replaces an open, dismissed or
# smaller partial outcome; a dismissal only settles a request still open.
EVENT_SQL = {
    "accepted": "UPDATE requests SET outcome = 'accepted', accepted_rank = ?, accepted_chars = ?, "
    "outcome_time = ? WHERE id = ?",
    "partial": "UPDATE requests SET outcome = 'partial', accepted_rank = ?, accepted_chars = ?, "
    "outcome_time = ? WHERE id = ? AND (outcome IN ('open', 'dismissed') OR (outcome = 'partial' "
    "AND (accepted_rank <> ? OR accepted_chars < ?)))",
    "dismissed": "UPDATE requests SET outcome = 'dismissed', outcome_time = ? WHERE id = ? AND outcome = 'open'",
    "shown": "UPDATE items SET shown = 1 WHERE request_id = ? AND rank = ?",
}


_json = msgspec.json.Encoder()


class StoreError(CodescalerError):
    """The database cannot be opened, read or written; the message names it."""


class Store:
    """One connection to a feedback database. Not shared between threads."""

    def __init__(self, database: Database, create: bool = True):
        self.database = database
        self.postgres = database.is_postgres
        try:
            self._connection = self._connect(create)
            self._migrate()
        except StoreError:
            raise
        except Exception as exc:
            raise self._error("cannot open", exc) from exc

    def _error(self, doing: str, exc: BaseException) -> StoreError:
        return StoreError(f"feedback database {self.database.name}: {doing}: {first_line(exc)}")

    def _connect(self, create: bool) -> Any:
        if self.postgres:
            try:
                import psycopg
            except ImportError as exc:
                raise StoreError(
                    "a PostgreSQL feedback database needs psycopg: pip install 'codescaler[team]'"
                ) from exc
            # A lock held elsewhere or a stuck statement fails a write after seconds instead of holding the
            # writer thread (and every record behind it) forever.
            return psycopg.connect(
                self.database.url, autocommit=True, connect_timeout=5, options=POSTGRES_OPTIONS
            )
        path = self.database.path
        assert path is not None
        if not path.exists():
            if not create:
                raise StoreError(
                    f"no feedback database at {path}: the language server writes it as you use completions "
                    "(feedback.record), or pass --db"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, timeout=2.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._connection.execute(self._sql(statement), params)

    def _begin(self) -> None:
        self._execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def _migrate(self) -> None:
        self._execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        if self.version() == SCHEMA_VERSION:
            return
        self._begin()
        try:
            if self.postgres:  # two servers starting at once: one migrates, the other waits
                self._execute("LOCK TABLE meta IN EXCLUSIVE MODE")
            version = self.version()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"feedback database {self.database.name} has schema version {version}, newer than this "
                    f"codescaler's {SCHEMA_VERSION}: upgrade codescaler"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    self._execute(statement)
            self._execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
            self._execute("COMMIT")
        except BaseException:
            self._execute("ROLLBACK")
            raise

    def version(self) -> int:
        row = self._execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def write(self, entries: Iterable[RequestRecord | Event]) -> None:
        """Records and events, in order, in one transaction: all of them land or none."""
        try:
            self._begin()
            try:
                for entry in entries:
                    if isinstance(entry, RequestRecord):
                        self._insert(entry)
                    else:
                        self._apply(entry)
                self._execute("COMMIT")
            except BaseException:
                self._execute("ROLLBACK")
                raise
        except Exception as exc:
            raise self._error("cannot write", exc) from exc

    def _insert(self, record: RequestRecord) -> None:
        values = [getattr(record, name) for name in REQUEST_COLUMNS]
        values[REQUEST_COLUMNS.index("context")] = (
            None if record.context is None else _json.encode(record.context).decode()
        )
        marks = ", ".join("?" * len(REQUEST_COLUMNS))
        self._execute(
            f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING",
            values,
        )
        for item in record.items:
            values = [record.id, *(_stored(getattr(item, name)) for name in ITEM_COLUMNS)]
            self._execute(
                f"INSERT INTO items (request_id, {', '.join(ITEM_COLUMNS)}) VALUES (?, "
                f"{', '.join('?' * len(ITEM_COLUMNS))}) ON CONFLICT (request_id, rank) DO NOTHING",
                values,
            )

    def _apply(self, event: Event) -> None:
        statement = EVENT_SQL[event.kind]
        if event.kind == "accepted":
            params: tuple = (event.rank, event.chars, event.time, event.request)
        elif event.kind == "partial":
            params = (event.rank, event.chars, event.time, event.request, event.rank, event.chars)
        elif event.kind == "dismissed":
            params = (event.time, event.request)
        else:
            params = (event.request, event.rank)
        self._execute(statement, params)

    def requests(self, since: float | None = None, until: float | None = None) -> list[RequestRecord]:
        """The stored requests with their items, oldest first."""
        where, params = _time_filter(since, until)
        try:
            rows = self._execute(
                f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests{where} ORDER BY time, id", params
            ).fetchall()
            item_rows = self._execute(
                f"SELECT request_id, {', '.join(ITEM_COLUMNS)} FROM items WHERE request_id IN "
                f"(SELECT id FROM requests{where}) ORDER BY request_id, rank",
                params,
            ).fetchall()
        except Exception as exc:
            raise self._error("cannot read", exc) from exc
        items: dict[str, list[ShownItem]] = {}
        for row in item_rows:
            fields = dict(zip(ITEM_COLUMNS, row[1:], strict=True))
            fields["valid"] = None if fields["valid"] is None else bool(fields["valid"])
            fields["shown"] = bool(fields["shown"])
            items.setdefault(row[0], []).append(ShownItem(**fields))
        records = []
        for row in rows:
            fields = dict(zip(REQUEST_COLUMNS, row, strict=True))
            if fields["context"] is not None:
                fields["context"] = msgspec.json.decode(fields["context"], type=list[ContextSnippet])
            records.append(RequestRecord(**fields, items=items.get(row[0], [])))
        return records

    def purge(self, before: float | None) -> int:
        """Delete the requests (and their items) older than `before`, or all of them; how many went."""
        where, params = _time_filter(None, before)
        try:
            self._begin()
            try:
                self._execute(
                    f"DELETE FROM items WHERE request_id IN (SELECT id FROM requests{where})", params
                )
                count = self._execute(f"DELETE FROM requests{where}", params).rowcount
                self._execute("COMMIT")
            except BaseException:
                self._execute("ROLLBACK")
                raise
            if not self.postgres:  # give the space back: deleted text must not linger in free pages
                self._execute("VACUUM")
        except Exception as exc:
            raise self._error("cannot delete", exc) from exc
        return count

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection: nothing left to save
            self._connection.close()


def _stored(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _time_filter(since: float | None, until: float | None) -> tuple[str, tuple]:
    clauses, params = [], []
    if since is not None:
        clauses.append("time >= ?")
        params.append(since)
    if until is not None:
        clauses.append("time < ?")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
