"""`codescaler models`: the bundled default models: where they are, and how to rebuild them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from training.cli.extra import needs_train_extra

models_app = typer.Typer(help="The bundled default models.", no_args_is_help=True, rich_markup_mode=None)


@models_app.command("build-default")
@needs_train_extra
def build_default(
    out: Path = typer.Argument(..., help="Build folder: policy/ and reward/ (what ships) and work/."),
    config: str = typer.Option("cpu", help="cpu (about 35 min on 2 cores: the shipped models) | gpu | smoke"),
    seed: int = typer.Option(0, help="Seeds every stage."),
    mbpp: str = typer.Option("", help="EvalPlus MbppPlus.json (default: the copy next to the repository)."),
    evaluate: bool = typer.Option(
        True, help="Measure the models with `codescaler eval` for the model cards."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Train the tokenizer, policy and reward model from the stdlib and MBPP+; a rerun resumes."""
    from training.default_models.build import build_default as run

    logging.getLogger("training").setLevel(logging.INFO)
    stages = run(out, config, seed, mbpp, evaluate, progress=not quiet)
    typer.echo(json.dumps({name: stage["seconds"] for name, stage in stages.items()}))
    typer.echo(f"models in {out / 'policy'} and {out / 'reward'}; cards in their README.md")


@models_app.command("show")
def show() -> None:
    """Where the bundled models are, and the first line of their cards."""
    from engine.default_models import bundled_folder

    for role in ("policy", "reward"):
        folder = bundled_folder(role)  # type: ignore[arg-type]
        card = folder / "README.md"
        title = (
            card.read_text(encoding="utf-8").splitlines()[0].lstrip("# ") if card.exists() else "(no card)"
        )
        typer.echo(f"{role}: {folder}  ({title})")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
