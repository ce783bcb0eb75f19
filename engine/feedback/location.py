"""Where the feedback database is: a SQLite file by default, or a team's PostgreSQL server by URL.

`feedback.db` (or `--db`) takes a file path, `sqlite:///ABSOLUTE/PATH`, or `postgresql://USER@HOST/DB`
(`postgres://` too). Unset, it is `$XDG_DATA_HOME/codescaler/feedback.sqlite3`
(`~/.local/share/codescaler/feedback.sqlite3`). Texts are stored by default only in a local file: a
team server gets them only when `feedback.store_text` says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from engine.errors import CodescalerError

POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Database:
    """A feedback database: `path` for SQLite, `url` for PostgreSQL."""

    path: Path | None = None
    url: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def name(self) -> str:
        """For messages: the path, or the URL without its password."""
        if self.path is not None:
            return str(self.path)
        parts = urlsplit(self.url or "")
        if parts.password is None:
            return self.url or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    @property
    def stores_text_by_default(self) -> bool:
        return not self.is_postgres


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "codescaler" / "feedback.sqlite3"


def resolve(db: str | None) -> Database:
    """The database `db` names (None: the default file)."""
    if db is None or not db.strip():
        return Database(path=default_path())
    db = db.strip()
    scheme = db.split("://", 1)[0].lower() if "://" in db else ""
    if scheme in POSTGRES_SCHEMES:
        return Database(url=db)
    if scheme == "sqlite":
        rest = db.split("://", 1)[1]
        if not rest.startswith("/"):
            raise CodescalerError(f"feedback database {db!r}: use sqlite:///ABSOLUTE/PATH or a plain path")
        return Database(path=Path(rest))
    if scheme:
        raise CodescalerError(
            f"feedback database {db!r}: unknown kind {scheme!r}; give a file path or postgresql://USER@HOST/DB"
        )
    return Database(path=Path(db).expanduser())
