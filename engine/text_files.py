"""Reading a user's text file with an error that says which file and why (not a traceback)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import CodescalerError


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; `what` names it in the error (`document`, `question file`)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CodescalerError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise CodescalerError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
