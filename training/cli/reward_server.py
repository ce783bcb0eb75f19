"""`codescaler reward-server`: the CodeScaler reward over HTTP for OpenRLHF (`--remote_rm_url`).

The limit flags exist because the port is reachable by every node of a training cluster: one careless or
hostile client must not be able to hold the server (docs/training.md, "The reward server").
"""

from __future__ import annotations

from contextlib import ExitStack, suppress
from pathlib import Path

import typer

from engine.cli.options import option
from engine.errors import CodescalerError
from engine.listening import listen
from engine.settings import read_token
from training.cli.extra import needs_train_extra


def reward_server(
    reward_model: str | None = typer.Option(None, help="Reward model to load in process."),
    engine_url: str | None = option("engine"),
    token: str | None = option("token"),
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs a token."),
    port: int = typer.Option(5000, help="Port (OpenRLHF: --remote_rm_url http://HOST:PORT/get_reward)."),
    token_file: Path | None = typer.Option(None, help="Token clients must send (Authorization: Bearer)."),
    language: str = typer.Option("python", help="Language of the extracted code."),
    max_body_mib: float = typer.Option(64.0, help="Largest request body in MiB (larger: 413)."),
    read_timeout: float = typer.Option(
        10.0, help="Seconds a request's body may take to arrive after its headers (slower: 408, closed)."
    ),
    idle_timeout: float = typer.Option(
        5.0, help="Seconds an idle keep-alive connection, or a new one without complete headers, stays open."
    ),
    max_connections: int = typer.Option(
        64, help="Connections served at once; the next ones get 503, beyond twice this they are reset."
    ),
    reward_workers: int = typer.Option(
        1, help="Reward computations at once (raise with --engine, whose serve batches them)."
    ),
) -> None:
    """Answer POST /get_reward with CodeScaler rewards (docs/training.md)."""
    from training.reward_endpoint import ServerLimits, run_server

    if not reward_model and not engine_url:
        raise CodescalerError("give --reward-model (in process) or --engine (a running codescaler serve)")
    if max_body_mib <= 0:
        raise CodescalerError("--max-body-mib must be positive")
    limits = ServerLimits(
        max_body_bytes=max(1, int(max_body_mib * (1 << 20))),
        read_timeout_s=read_timeout,
        idle_timeout_s=idle_timeout,
        max_connections=max_connections,
        reward_workers=reward_workers,
    )
    bearer = read_token(token_file) if token_file else None
    from engine.serve.server import require_token_off_loopback

    require_token_off_loopback(host, bearer)  # these two before minutes of model loading, not after
    sock = listen(host, port)

    from engine.reward.scorer import load_scorer
    from training.rl_reward import CodeReward

    with ExitStack() as stack:
        if engine_url:
            reward = CodeReward(engine_url=engine_url, token=token, language=language)
        else:
            reward = CodeReward(scorer=stack.enter_context(load_scorer(reward_model)), language=language)  # type: ignore[arg-type]

        def ready(bound_port: int) -> None:
            typer.echo(f"codescaler reward server on http://{host}:{bound_port}/get_reward")

        with suppress(KeyboardInterrupt):  # Ctrl-C before the server's signal handlers are installed
            run_server(reward, host, sock, bearer, limits, ready=ready)


def register(app: typer.Typer) -> None:
    app.command("reward-server")(needs_train_extra(reward_server))
