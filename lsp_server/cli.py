"""`codescaler lsp`: the language server, registered on the `codescaler` command as a plugin (the engine's
CLI must not import this package)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from engine.cli.options import ENGINE, FEEDBACK, MODELS, SAMPLING, shared_options
from engine.errors import CodescalerError
from engine.settings import Settings, read_token


@shared_options(MODELS, ENGINE, SAMPLING, FEEDBACK, "threshold", "debounce_ms", "invoked_items")
def lsp(
    tcp: bool = typer.Option(False, "--tcp", help="Serve editors over TCP (many connections)."),
    ws: bool = typer.Option(
        False, "--ws", help="Serve editors over websockets (browsers; many connections)."
    ),
    stdio: bool = typer.Option(False, "--stdio", help="Serve one editor over stdin/stdout (the default)."),
    host: str = typer.Option("127.0.0.1", help="Address for --tcp/--ws."),
    port: int = typer.Option(2087, help="Port for --tcp/--ws."),
    ws_token_file: Path | None = typer.Option(
        None, help="Token browsers must present (needed off loopback)."
    ),
    allow_origin: list[str] = typer.Option([], help="Extra page origin allowed to connect over --ws."),
    *,
    settings: Settings,
) -> None:
    """Serve ranked AI completions to editors over LSP (completion and inline completion)."""
    from lsp_server.engines import EngineRegistry
    from lsp_server.session import Runtime
    from lsp_server.transports import run_stdio, serve_tcp, serve_ws

    if tcp + ws + stdio > 1:
        raise CodescalerError("choose one transport: --stdio, --tcp or --ws")
    runtime = Runtime(EngineRegistry(), settings)
    limit = settings.server["max_message_bytes"]
    if tcp:
        asyncio.run(serve_tcp(runtime, host, port, max_message_bytes=limit))
    elif ws:
        token = read_token(ws_token_file) if ws_token_file else None
        asyncio.run(serve_ws(runtime, host, port, token, tuple(allow_origin), max_message_bytes=limit))
    else:
        run_stdio(runtime, limit)


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp)
