"""`codescaler serve`: one policy and reward model for many editors, over websockets."""

from __future__ import annotations

import asyncio
import logging
from contextlib import ExitStack
from pathlib import Path

import typer

from engine.cli.engine_options import read_token
from engine.cli.model_options import (
    API_KEY,
    CONFIG,
    FIM_TEMPLATE,
    GRAPH_DECODE,
    POLICY,
    POLICY_BACKEND,
    POLICY_URL,
    REWARD_BACKEND,
    REWARD_MODEL,
    REWARD_URL,
    resolve_models,
)
from engine.cli.rank import RANK_DEFAULTS
from engine.errors import CodescalerError

log = logging.getLogger(__name__)


def serve(
    config: Path | None = CONFIG,
    policy: str | None = POLICY,
    reward_model: str | None = REWARD_MODEL,
    policy_backend: str | None = POLICY_BACKEND,
    policy_url: str | None = POLICY_URL,
    reward_backend: str | None = REWARD_BACKEND,
    reward_url: str | None = REWARD_URL,
    api_key: str | None = API_KEY,
    fim_template: str | None = FIM_TEMPLATE,
    graph_decode: bool | None = GRAPH_DECODE,
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs a token."),
    port: int = typer.Option(8765, help="Port to listen on."),
    token_file: Path | None = typer.Option(
        None, help="File holding the engine token (else CODESCALER_ENGINE_TOKEN)."
    ),
    max_n: int = typer.Option(32, help="Largest N a request may ask for."),
    max_new_tokens: int = typer.Option(512, help="Largest max_new_tokens a request may ask for."),
    max_payload_bytes: int = typer.Option(1 << 20, help="Largest request message."),
    workers: int = typer.Option(4, help="Requests processed at once (the policy still runs one at a time)."),
    max_batch_tokens: int = typer.Option(
        16384, help="Token budget of one reward-model batch across requests."
    ),
    max_wait_ms: float = typer.Option(5.0, help="How long a reward batch waits for more requests."),
) -> None:
    """Serve rank, score and cancel requests from many clients (protocol: docs/engine-protocol.md)."""
    from engine.serve.protocol import Limits
    from engine.serve.server import EngineServer, require_token_off_loopback
    from engine.serve.service import EngineService

    token = read_token(token_file)
    require_token_off_loopback(host, token)  # before the slow model loading
    spec, settings = resolve_models(
        config,
        policy=policy,
        reward_model=reward_model,
        policy_backend=policy_backend,
        policy_url=policy_url,
        reward_backend=reward_backend,
        reward_url=reward_url,
        api_key=api_key,
        fim_template=fim_template,
        graph_decode=graph_decode,
    )
    print(f"codescaler engine: loading models {spec.label}", flush=True)
    with ExitStack() as stack:
        generator, scorer = spec.load(stack)
        n = settings.get("completion", {}).get("n", RANK_DEFAULTS["n"])
        if spec.graph_decode:
            print(
                f"codescaler engine: compiling graph decode for n={n} (about a minute on a GPU)", flush=True
            )
        generator.warm_up(n)
        service = EngineService(
            generator,
            scorer,
            fim_template=spec.fim_template,
            models=spec.label,
            limits=Limits(max_n=max_n, max_new_tokens=max_new_tokens, max_payload_bytes=max_payload_bytes),
            workers=workers,
            max_batch_tokens=max_batch_tokens,
            max_wait_s=max_wait_ms / 1000,
        )
        try:
            asyncio.run(EngineServer(service, token).run(host, port))
        except OSError as exc:
            raise CodescalerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
