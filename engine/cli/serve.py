"""`codescaler serve`: one policy and reward model for many editors, over websockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from engine.cli.options import FEEDBACK, MODELS, shared_options
from engine.errors import CodescalerError
from engine.listening import listen
from engine.settings import Settings, read_token


@shared_options(MODELS, FEEDBACK)
def serve(
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
    *,
    settings: Settings,
) -> None:
    """Serve rank, score and cancel requests from many clients (protocol: docs/engine-protocol.md)."""
    from engine.feedback.serving import ServeFeedback
    from engine.ranker import load_local
    from engine.serve.protocol import Limits
    from engine.serve.server import EngineServer, require_token_off_loopback

    token = read_token(token_file)
    require_token_off_loopback(host, token)  # these two before the slow model loading
    sock = listen(host, port)
    for name, value in (("max-n", max_n), ("max-new-tokens", max_new_tokens), ("workers", workers)):
        if value < 1:
            raise CodescalerError(f"--{name} must be at least 1, not {value}")
    spec = settings.models
    print(f"codescaler engine: loading models {spec.label}", flush=True)
    if spec.graph_decode:
        n = settings.rank_options.n
        print(f"codescaler engine: compiling graph decode for n={n} (about a minute on a GPU)", flush=True)
    ranker = load_local(settings, max_batch_tokens=max_batch_tokens, max_wait_s=max_wait_ms / 1000)
    limits = Limits(max_n=max_n, max_new_tokens=max_new_tokens, max_payload_bytes=max_payload_bytes)
    try:
        feedback = ServeFeedback(settings) if settings.layers["feedback"]["record"] else None
        server = EngineServer(ranker, token, limits=limits, workers=workers, feedback=feedback)
        asyncio.run(server.run(host, sock))
    finally:
        ranker.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
