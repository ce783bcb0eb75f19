"""Resumable jobs record their settings on the first run and refuse to resume with other ones: mixing
results made with different settings would give numbers (or pairs) that mean nothing, silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.jsonl import write_text_atomic


def check_run_settings(path: Path, settings: dict[str, Any], holder: str, way_out: str) -> None:
    """Write `settings` to `path` on the first run; later, a `CodescalerError` naming every change
    (`{holder} holds a run with other settings (n 3 -> 4): {way_out}`) when they differ."""
    settings = json.loads(json.dumps(settings))  # as JSON will read them back (tuples become lists)
    if not path.exists():
        write_text_atomic(path, json.dumps(settings, indent=2, sort_keys=True) + "\n")
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodescalerError(f"cannot read {path} ({exc}): {way_out}") from exc
    changed = [f"{key} {recorded.get(key)!r} -> {settings.get(key)!r}"
               for key in sorted(set(recorded) | set(settings)) if recorded.get(key) != settings.get(key)]  # fmt: skip
    if changed:
        raise CodescalerError(f"{holder} holds a run with other settings ({'; '.join(changed)}): {way_out}")
