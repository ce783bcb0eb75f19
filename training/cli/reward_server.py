"""`codescaler reward-server`: the CodeScaler reward over HTTP for OpenRLHF (`--remote_rm_url`)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import typer

from engine.cli.engine_options import ENGINE_TOKEN, ENGINE_URL, read_token
from engine.errors import CodescalerError


def reward_server(
    reward_model: str | None = typer.Option(None, help="Reward model to load in process."),
    engine_url: str | None = ENGINE_URL,
    token: str | None = ENGINE_TOKEN,
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs a token."),
    port: int = typer.Option(5000, help="Port (OpenRLHF: --remote_rm_url http://HOST:PORT/get_reward)."),
    token_file: Path | None = typer.Option(None, help="Token clients must send (Authorization: Bearer)."),
    language: str = typer.Option("python", help="Language of the extracted code."),
) -> None:
    """Answer POST /get_reward with CodeScaler rewards (docs/training.md)."""
    from engine.reward.scorer import load_scorer
    from training.reward_endpoint import make_server
    from training.rl_reward import CodeReward

    if not reward_model and not engine_url:
        raise CodescalerError("give --reward-model (in process) or --engine (a running codescaler serve)")
    with ExitStack() as stack:
        if engine_url:
            reward = CodeReward(engine_url=engine_url, token=token, language=language)
        else:
            reward = CodeReward(scorer=stack.enter_context(load_scorer(reward_model)), language=language)  # type: ignore[arg-type]
        server = make_server(reward, host, port, read_token(token_file) if token_file else None)
        typer.echo(f"codescaler reward server on http://{host}:{server.server_port}/get_reward", err=False)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def register(app: typer.Typer) -> None:
    app.command("reward-server")(reward_server)
