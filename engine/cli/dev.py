"""`codescaler dev`: tools for developers of codescaler and of models for it."""

from __future__ import annotations

from pathlib import Path

import typer

dev_app = typer.Typer(
    rich_markup_mode=None,
    help="Developer tools: tiny models for tests, demos and benchmarks.",
    no_args_is_help=True,
)


@dev_app.command("tiny-models")
def tiny_models(
    out_dir: Path = typer.Argument(
        ..., help="Folder to write policy/ and reward/ into (replaced if present)."
    ),
) -> None:
    """Build a tiny tokenizer, causal LM (policy/) and reward model (reward/) from config, deterministically.

    The weights are random: use them to exercise the pipeline, not to judge code.
    """
    from engine.devtools.tiny_models import build_tiny_models

    for name, path in build_tiny_models(out_dir).items():
        typer.echo(f"{name}: {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")
