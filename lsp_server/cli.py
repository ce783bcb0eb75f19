"""`codescaler lsp`: the language server, registered on the `codescaler` command as a plugin (the engine's
CLI must not import this package)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from engine.cli.engine_options import ENGINE_TOKEN, ENGINE_URL, read_token
from engine.cli.model_options import (
    API_KEY,
    CONFIG,
    FIM_TEMPLATE,
    POLICY,
    POLICY_BACKEND,
    POLICY_URL,
    REWARD_BACKEND,
    REWARD_MODEL,
    REWARD_URL,
)
from engine.config_file import load_config, validate
from engine.errors import CodescalerError


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
    config: Path | None = CONFIG,
    policy: str | None = POLICY,
    reward_model: str | None = REWARD_MODEL,
    policy_backend: str | None = POLICY_BACKEND,
    policy_url: str | None = POLICY_URL,
    reward_backend: str | None = REWARD_BACKEND,
    reward_url: str | None = REWARD_URL,
    api_key: str | None = API_KEY,
    fim_template: str | None = FIM_TEMPLATE,
    engine_url: str | None = ENGINE_URL,
    token: str | None = ENGINE_TOKEN,
    token_file: Path | None = typer.Option(
        None, "--token-file", help="File holding the engine's token (stays out of `ps`, unlike --token)."
    ),
    n: int | None = typer.Option(None, "-n", help="Candidates per request (default 8)."),
    max_new_tokens: int | None = typer.Option(None, help="Longest candidate, in tokens (default 64)."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (default 0.8)."),
    threshold: float | None = typer.Option(None, help="Suggest nothing whose shaped reward is below this."),
    debounce_ms: float | None = typer.Option(None, help="Wait this long on automatic triggers (default 75)."),
    invoked_items: int | None = typer.Option(None, help="Items to cycle through when invoked (default 3)."),
    line_mode: str | None = typer.Option(None, help="auto (default) | single | multi"),
) -> None:
    """Serve ranked AI completions to editors over LSP (completion and inline completion)."""
    from lsp_server.engines import EngineRegistry
    from lsp_server.session import Runtime
    from lsp_server.settings import Settings
    from lsp_server.transports import run_stdio, serve_tcp, serve_ws

    if tcp + ws + stdio > 1:
        raise CodescalerError("choose one transport: --stdio, --tcp or --ws")
    models = {"policy": policy, "reward_model": reward_model, "policy_backend": policy_backend,
              "policy_url": policy_url, "reward_backend": reward_backend, "reward_url": reward_url,
              "fim_template": fim_template, "engine": engine_url, "token": token or (read_token(token_file) if token_file else None), "api_key": api_key or None}  # fmt: skip
    completion = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature,
                  "threshold": threshold, "debounce_ms": debounce_ms, "invoked_items": invoked_items,
                  "line_mode": line_mode}  # fmt: skip
    flags = validate({"models": models, "completion": completion}, "command line")
    file_layer = load_config(config)
    Settings.from_layers(file_layer, flags)  # bad values fail here, before any editor connects
    runtime = Runtime(EngineRegistry(), (file_layer, flags))
    if tcp:
        asyncio.run(serve_tcp(runtime, host, port))
    elif ws:
        asyncio.run(
            serve_ws(
                runtime, host, port, read_token(ws_token_file) if ws_token_file else None, tuple(allow_origin)
            )
        )
    else:
        run_stdio(runtime)


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp)
