"""A feedback database in trouble never breaks a suggestion: locked, read-only, full, corrupt or
unreachable, the language server answers as usual and names the database in one log line; killed
mid-session, it loses nothing already written and the database opens cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from engine.feedback.location import Database
from engine.feedback.store import Store
from tests.feedback.conftest import new_postgres_database, opened
from tests.lsp.conftest import CODESCALER, SERVER_ENV, editor_settings
from tests.lsp.raw_client import RawLspClient

DOC = "# note: \nx = 1\n"


def start(db: str, tiny_models, limit_kb: int | None = None) -> RawLspClient:
    command = [CODESCALER, "lsp"]
    if limit_kb is not None:  # a file-size limit: every write past it fails as on a full disk
        command = ["bash", "-c", f'ulimit -f {limit_kb} && exec "$@"', "lsp", *command]
    client = RawLspClient(command, env=SERVER_ENV)
    settings = editor_settings(tiny_models, n=4)
    settings["feedback"] = {"db": db, "store_text": True}
    client.initialize(settings)
    return client


def suggest(client: RawLspClient, number: int) -> list[dict]:
    """An invoked inline completion in a new document; its items (never empty: comments take anything)."""
    uri = f"file:///tmp/codescaler-trouble/doc{number}.py"
    client.open(uri, f"{DOC}unique_{number} = 0\n")
    reply = client.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": 0, "character": 8},
            "context": {"triggerKind": 1},
        },
        timeout_s=120,
    )
    items = reply["result"]["items"]
    assert items, reply
    return items


def accept(client: RawLspClient, item: dict) -> None:
    client.request("workspace/executeCommand", item["command"])


def trouble_lines(client: RawLspClient, name: str, timeout_s: float = 30) -> list[str]:
    """The server's log lines about database `name`, once there is one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [
            line for line in b"".join(client.stderr).decode().splitlines() if "feedback database" in line
        ]
        if lines:
            time.sleep(1.0)  # anything more it would say about the same trouble
            lines = [
                line for line in b"".join(client.stderr).decode().splitlines() if "feedback database" in line
            ]
            assert all(name in line for line in lines), lines
            return lines
        time.sleep(0.1)
    raise AssertionError(
        f"no log line about the feedback database: {b''.join(client.stderr).decode()[-2000:]}"
    )


def suggestions_go_on(client: RawLspClient, name: str, problem: str) -> None:
    for number in range(3):
        accept(client, suggest(client, number)[0])
    lines = trouble_lines(client, name)
    assert len(lines) == 1 and problem in lines[0], lines
    accept(client, suggest(client, 3)[0])  # more trouble of the same kind: still that one line
    assert len(trouble_lines(client, name)) == 1


def make(path: Path) -> Path:
    Store(Database(path=path)).close()
    return path


def test_a_locked_database(tiny_models, tmp_path: Path):
    path = make(tmp_path / "feedback.sqlite3")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing, for longer than the writer waits
    client = start(str(path), tiny_models)
    try:
        suggestions_go_on(client, str(path), "database is locked")
        holder.execute("ROLLBACK")  # the other program is done: records land again, without a restart
        suggest(client, 4)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not Store(Database(path=path)).requests():
            time.sleep(0.2)
        assert Store(Database(path=path)).requests()
    finally:
        client.close()
        holder.close()


def test_a_read_only_database(tiny_models, tmp_path: Path):
    path = make(tmp_path / "feedback.sqlite3")
    if os.geteuid() == 0:  # root writes through file modes: make the file immutable instead
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file read-only for root here (chattr +i refused)")
    else:
        path.chmod(0o444)
    client = start(str(path), tiny_models)
    try:
        suggestions_go_on(client, str(path), "readonly")
    finally:
        client.close()
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_full_disk(tiny_models, tmp_path: Path):
    path = tmp_path / "feedback.sqlite3"
    client = start(str(path), tiny_models, limit_kb=64)
    try:
        for number in range(40):  # each record holds the document and the items' texts
            accept(client, suggest(client, number)[0])
            if b"feedback database" in b"".join(client.stderr):
                break
        lines = trouble_lines(client, str(path))
        assert len(lines) == 1 and ("disk" in lines[0] or "full" in lines[0]), lines
        suggest(client, 99)
    finally:
        client.close()
    assert Store(Database(path=path)).requests()  # what was written before stays readable


def test_a_corrupt_database(tiny_models, tmp_path: Path):
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(os.urandom(8192))
    client = start(str(path), tiny_models)
    try:
        suggestions_go_on(client, str(path), "not a database")
    finally:
        client.close()


def test_an_unreachable_or_read_only_postgres(tiny_models, postgres_server: str):
    import psycopg

    url = new_postgres_database(postgres_server)
    Store(Database(url=url)).close()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET default_transaction_read_only = on")
    client = start(url, tiny_models)
    try:
        suggestions_go_on(client, url, "read-only transaction")
    finally:
        client.close()
    gone = url.rsplit(":", 1)[0] + ":1/feedback"  # nothing listens on port 1
    client = start(gone, tiny_models)
    try:
        suggestions_go_on(client, gone, "cannot open")
    finally:
        client.close()


def test_a_locked_postgres_table(tiny_models, postgres_server: str):
    import psycopg

    url = new_postgres_database(postgres_server)
    Store(Database(url=url)).close()
    holder = psycopg.connect(url)
    holder.execute("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE")  # held until the rollback below
    client = start(url, tiny_models)
    try:
        suggestions_go_on(client, url, "lock timeout")
    finally:
        client.close()
        holder.rollback()
        holder.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_killed_mid_session_loses_nothing_written(kind, tiny_models, tmp_path: Path, request):
    database = (
        Database(path=tmp_path / "feedback.sqlite3")
        if kind == "sqlite"
        else Database(url=new_postgres_database(request.getfixturevalue("postgres_server")))
    )
    name = database.url or str(database.path)
    client = start(name, tiny_models)
    accepted = []
    for number in range(3):
        item = suggest(client, number)[0]
        accept(client, item)
        accepted.append(item["command"]["arguments"][0]["request"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # written: every request there with its accept
        with opened(database) as store:
            done = [r.id for r in store.requests() if r.outcome == "accepted"]
        if done == accepted:
            break
        time.sleep(0.1)
    assert done == accepted
    suggest(client, 3)  # in flight, maybe half-written, when the server dies
    client.process.kill()
    client.process.wait()

    with opened(database) as store:
        records = store.requests()
    assert [r.id for r in records if r.outcome == "accepted"] == accepted
    if kind == "sqlite":
        with sqlite3.connect(database.path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    client = start(name, tiny_models)  # a new session writes on where the old one stopped
    try:
        accept(client, suggest(client, 4)[0])
    finally:
        client.close()
    with opened(database) as store:
        assert len([r for r in store.requests() if r.outcome == "accepted"]) == len(accepted) + 1
