"""A team's engine: `codescaler serve` records the requests it answers in the team's PostgreSQL database
(no texts by default), and language servers using it send what became of each one, so the team database
has the outcomes too. The editor's own SQLite file keeps its full records."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.errors import CodescalerError
from engine.feedback.location import Database
from engine.feedback.store import Store
from engine.protocol import Document, RankRequest
from engine.serve.client import RemoteRanker
from tests.feedback.conftest import new_postgres_database, opened
from tests.feedback.test_database_trouble import accept, start, suggest
from tests.test_serve import TOKEN, start_server, stop_server


def settled(database: Database, wanted: dict[str, str], timeout_s: float = 30) -> list:
    deadline = time.monotonic() + timeout_s
    while True:
        with opened(database) as store:
            records = store.requests()
        if {r.id: r.outcome for r in records if r.id in wanted} == wanted or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def test_serve_records_and_editors_report_outcomes(tiny_models, tmp_path: Path, postgres_server: str):
    team = Database(url=new_postgres_database(postgres_server))
    process, port, log = start_server(tiny_models, tmp_path, "--feedback-db", team.url)
    local = tmp_path / "editor.sqlite3"
    client = start(str(local), tiny_models)
    try:
        client.notify(
            "workspace/didChangeConfiguration",
            {"settings": {"models": {"engine": f"ws://127.0.0.1:{port}", "token": TOKEN}}},
        )
        taken = suggest(client, 1)[0]
        accept(client, taken)
        passed = suggest(client, 2)[0]
        suggest(client, 2)  # the same document again: the suggestion before was passed over
        ids = [item["command"]["arguments"][0]["request"] for item in (taken, passed)]
        with RemoteRanker(f"ws://127.0.0.1:{port}", TOKEN) as ranker, pytest.raises(CodescalerError):
            ranker.rank(RankRequest(document=Document(text="x", offset=99), ref="bad-cursor"))
        wanted = {ids[0]: "accepted", ids[1]: "dismissed", "bad-cursor": "failed"}
        records = settled(team, wanted)
    finally:
        client.close()
        stop_server(process, log)
    served = {r.id: r for r in records}
    assert {i: served[i].outcome for i in wanted} == wanted, (tmp_path / f"serve-{port}.log").read_text()
    assert all(r.source == "serve" and r.document is None and r.path is None for r in records)
    assert all(
        item.text is None for r in records for item in r.items
    )  # a team server gets no texts by default
    assert served[ids[0]].items and served[ids[0]].path_hash
    with opened(Database(path=local)) as store:
        mine = {r.id: r for r in store.requests()}
    assert {i: mine[i].outcome for i in ids} == {i: wanted[i] for i in ids} and mine[
        ids[0]
    ].document is not None
    assert mine[ids[0]].policy == f"ws://127.0.0.1:{port}"
    Store(team).close()
