"""Where a running engine service is and its token: for `rank --engine` and `lsp --engine`, and the token
file of `serve`. The token comes from a file or the environment rather than the command line, so it stays
out of `ps` and shell history (a `--token` flag exists for quick local use)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from engine.errors import CodescalerError

ENGINE_URL = typer.Option(
    None, "--engine", help="Use a running codescaler serve (ws://HOST:PORT) instead of loading models."
)
ENGINE_TOKEN = typer.Option(None, "--token", envvar="CODESCALER_ENGINE_TOKEN", help="The engine's token.")


def read_token(token_file: Path | None) -> str | None:
    """The engine token from a file (preferred: it stays out of `ps`) or CODESCALER_ENGINE_TOKEN."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CodescalerError(f"cannot read token file {token_file}: {exc.strerror or exc}") from exc
        if not token:
            raise CodescalerError(f"token file {token_file} is empty")
        return token
    return os.environ.get("CODESCALER_ENGINE_TOKEN") or None


def engine_endpoint(
    settings: dict[str, dict[str, Any]], url: str | None, token: str | None
) -> tuple[str | None, str | None]:
    """The engine URL and token: flags first, then `[models] engine` / `token` / `token_file`."""
    models = settings.get("models", {})
    url = url or models.get("engine")
    if token is None:
        token = models.get("token")
    if token is None and models.get("token_file"):
        token = read_token(Path(models["token_file"]).expanduser())
    return url, token
