"""The feedback store on SQLite and on a real PostgreSQL server: the outcome rules, migrations, purging."""

from __future__ import annotations

import sqlite3

import msgspec
import pytest

from engine.feedback.location import Database
from engine.feedback.records import Event, RequestRecord, ShownItem
from engine.feedback.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError
from engine.protocol import ContextSnippet
from tests.feedback.conftest import opened


def record(id: str, time: float = 1.0, outcome: str = "open", texts: bool = True) -> RequestRecord:
    items = [
        ShownItem(
            rank=rank, length=4, reward=float(rank), score=None, valid=True, text="abcd" if texts else None
        )
        for rank in (1, 2)
    ]
    return RequestRecord(
        id=id, session="s", time=time, source="lsp", feature="inline", outcome=outcome, items=items
    )


def outcome(store: Store, id: str) -> tuple:
    found = next(r for r in store.requests() if r.id == id)
    return found.outcome, found.accepted_rank, found.accepted_chars


def event(kind: str, rank: int | None = None, chars: int | None = None, id: str = "a") -> Event:
    return Event(request=id, kind=kind, time=2.0, rank=rank, chars=chars)


def test_outcome_rules(database: Database):
    with opened(database) as store:
        store.write([record("a"), event("partial", 1, 2)])
        assert outcome(store, "a") == ("partial", 1, 2)
        store.write([event("partial", 1, 1)])  # a smaller report of the same item changes nothing
        assert outcome(store, "a") == ("partial", 1, 2)
        store.write([event("dismissed")])  # only an open request is dismissed
        assert outcome(store, "a") == ("partial", 1, 2)
        store.write([event("accepted", 2, 4)])  # a full accept wins over everything
        store.write([event("partial", 1, 3), event("dismissed")])
        assert outcome(store, "a") == ("accepted", 2, 4)

        store.write([record("b"), event("dismissed", id="b"), event("accepted", 1, 4, id="b")])
        assert outcome(store, "b") == ("accepted", 1, 4)  # the editor ran the command after the next request
        store.write([record("c"), event("shown", 2, id="c"), event("accepted", 1, 4, id="nobody")])
        shown = next(r for r in store.requests() if r.id == "c").items
        assert [i.shown for i in shown] == [False, True]
        store.write([record("c", outcome="empty")])  # a repeated id never overwrites a record
        assert outcome(store, "c") == ("open", None, None)


def test_a_failed_batch_writes_nothing(database: Database):
    broken = RequestRecord(id="x", session="s", time=1.0, source="lsp", feature="inline", outcome="open",
                           items=[ShownItem(rank=None, length=1, reward=0.0, score=None, valid=None)])  # type: ignore[arg-type]  # fmt: skip
    with opened(database) as store:
        with pytest.raises(StoreError, match=f"feedback database {database.name}: cannot write"):
            store.write([record("ok"), event("accepted", 1, 4, id="ok"), broken])
        assert store.requests() == []  # all of the batch or none of it
        store.write([record("ok")])  # and the connection goes on working
        assert [r.id for r in store.requests()] == ["ok"]


def test_purge_before_a_time_and_all(database: Database):
    with opened(database) as store:
        store.write([record("old", time=10.0), record("new", time=20.0)])
        assert store.purge(15.0) == 1
        assert [r.id for r in store.requests()] == ["new"]
        assert store.purge(None) == 1 and store.requests() == []


def test_migrations_run_once_and_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:  # a database from before the first version: meta only
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    with opened(Database(path=path)) as store:
        assert store.version() == SCHEMA_VERSION == len(MIGRATIONS)
        store.write([record("a")])
    with opened(Database(path=path)) as store:  # opening again migrates nothing and keeps the data
        assert [r.id for r in store.requests()] == ["a"]
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreError, match="newer than this codescaler"):
        Store(Database(path=path))


def test_a_version_1_database_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as connection:  # what codescaler wrote before the context column
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        connection.execute(
            "INSERT INTO requests (id, session, time, source, feature, outcome) VALUES ('old', 's', 1, 'lsp', 'inline', 'dismissed')"
        )
    snippet = ContextSnippet(path="pkg/config.py", text="def load_config(path): ...", symbol="load_config")
    with opened(Database(path=path)) as store:
        assert store.version() == SCHEMA_VERSION
        store.write([msgspec.structs.replace(record("new", time=2.0), context=[snippet])])
        old, new = store.requests()
    assert (old.id, old.outcome, old.context) == ("old", "dismissed", None)
    assert new.context == [snippet]


def test_reading_a_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(StoreError, match=r"no feedback database at .*feedback\.record"):
        Store(Database(path=tmp_path / "none.sqlite3"), create=False)
    assert not (tmp_path / "none.sqlite3").exists()
