"""Entry point of the `codescaler` command.

Subcommand modules register themselves on `app`. Heavy libraries load inside the commands, so `--help`
answers at once. A `CodescalerError` becomes one line on stderr and exit status 1; any other exception is
a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from engine import __version__
from engine.errors import CodescalerError

app = typer.Typer(
    name="codescaler",
    help="Code completions ranked by an execution-free reward model (CodeScaler), and the tools to train one.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags without a `<bool>` type, options one per line
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"codescaler {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details (model loading, batching)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    if not verbose:  # keep the libraries' INFO logs and progress bars for --verbose
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="codescaler: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def _register() -> None:
    """The engine's own commands, then those of installed packages that build on it (`codescaler lsp`
    from lsp_server, training commands): they register through the `codescaler.commands` entry points,
    because the engine must not import them."""
    from importlib.metadata import entry_points

    from engine.cli import dev, feedback, rank, score, serve

    score.register(app)
    rank.register(app)
    serve.register(app)
    dev.register(app)
    feedback.register(app)
    for plugin in sorted(entry_points(group="codescaler.commands"), key=lambda e: e.name):
        plugin.load()(app)


def main() -> None:
    _register()
    try:
        app()
    except CodescalerError as exc:
        typer.echo(f"codescaler: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # `python -m engine.cli.main` (e.g. under accelerate launch)
    main()
