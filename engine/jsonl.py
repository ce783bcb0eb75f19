"""JSON Lines in and out, with errors that name the file and the line.

A bad row in a long input file should cost the user one glance, not a debugging session: every error says
which file, which line and what is wrong. Output files are written atomically (a temporary file renamed
into place), so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from engine.errors import CodescalerError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of `path` ("-" reads stdin; a name ending in .gz is
    read through gzip, as datasets often ship)."""
    name = "<stdin>" if str(path) == "-" else str(path)
    opener: Any = gzip.open if name.endswith(".gz") else open
    try:
        handle = sys.stdin if name == "<stdin>" else opener(path, "rt", encoding="utf-8")
    except OSError as exc:
        raise CodescalerError(f"cannot read {name}: {exc.strerror or exc}") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CodescalerError(
                        f"{name}:{number}: invalid JSON ({exc.msg} at column {exc.colno})"
                    ) from exc
                if not isinstance(row, dict):
                    raise CodescalerError(
                        f"{name}:{number}: expected a JSON object, got {type(row).__name__}"
                    )
                yield number, row
        except UnicodeDecodeError as exc:
            raise CodescalerError(f"{name}: not UTF-8 text ({exc.reason})") from exc
        except (OSError, EOFError) as exc:  # a damaged or truncated .gz shows up while reading
            raise CodescalerError(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from exc


def string_field(row: dict[str, Any], field: str, where: str, required: bool = True) -> str | None:
    """`row[field]` as a string, or a clear error naming `where` (file:line) and the field."""
    value = row.get(field)
    if value is None:
        if required:
            raise CodescalerError(f"{where}: missing field '{field}'")
        return None
    if not isinstance(value, str):
        raise CodescalerError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    return value


def _umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """A text file that appears at `path` complete, or not at all: readers see the old file or the new."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a user's output gets the usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write `rows` to `path` so that readers see either the old file or the complete new one."""
    with atomic_writer(path) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_writer(path) as out:
        out.write(text)
