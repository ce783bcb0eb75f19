"""Feedback databases for the tests: a fresh SQLite file, or a fresh database on a real PostgreSQL server
that this test session starts (initdb + pg_ctl from Debian's postgresql package, which .ci/install
installs) on a free loopback port, and stops at the end."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.feedback.location import Database
from tests.conftest import free_port

_names = itertools.count(1)


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not versions:
        pytest.fail("PostgreSQL is not installed: run .ci/install (it installs Debian's postgresql)")
    return Path(versions[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: under root, run it as the package's `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running PostgreSQL server (user `codescaler`, trust auth, loopback only)."""
    bin_dir = _bin_dir()
    home = Path(tempfile.mkdtemp(prefix="codescaler-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(home, user.pw_uid, user.pw_gid)
    home.chmod(0o755)
    port = free_port()
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "codescaler", "-A", "trust", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://codescaler@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


def new_postgres_database(server: str) -> str:
    """A new, empty database on `server`; its URL."""
    import psycopg

    name = f"feedback_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


KINDS = ["sqlite", "postgres"]


def fresh_database(request, kind: str, folder: Path) -> Database:
    if kind == "sqlite":
        return Database(path=folder / "feedback.sqlite3")
    return Database(url=new_postgres_database(request.getfixturevalue("postgres_server")))


@pytest.fixture(params=KINDS)
def database(request, tmp_path: Path) -> Database:
    """A fresh feedback database of each kind."""
    return fresh_database(request, request.param, tmp_path)


@contextlib.contextmanager
def opened(database: Database) -> Iterator:
    from engine.feedback.store import Store

    store = Store(database)
    try:
        yield store
    finally:
        store.close()
