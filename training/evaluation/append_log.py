"""An append-only JSONL file of keyed results: the resume mechanism of long evaluations.

Each result is one fsynced line written as soon as it exists, so a killed run loses at most the result it
was working on. On opening, a torn last line (the kill landed mid-write) is cut off and that result is
simply computed again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class AppendLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}
        if not path.exists():
            return
        data = path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            with open(path, "r+b") as handle:
                handle.truncate(len(whole))
        for line in whole.decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
                self.rows[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def record(self, key: str, **values: Any) -> None:
        row = {"key": key, **values}
        self.rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
