"""`codescaler rank`: best-of-N completions at a cursor, or solutions to a problem statement."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from engine.cli.options import ENGINE, MODELS, SAMPLING, shared_options
from engine.errors import CodescalerError
from engine.settings import Settings
from engine.text_files import read_text


@shared_options(MODELS, ENGINE, SAMPLING, "top_k", "threshold")
def rank(
    file: Path | None = typer.Argument(None, help="Document to complete (with --line/--col or --marker)."),
    line: int | None = typer.Option(None, help="Cursor line, 1-based."),
    col: int | None = typer.Option(None, help="Cursor column, 1-based (in characters)."),
    marker: str | None = typer.Option(
        None, help="Text in FILE that marks the cursor (removed before completing)."
    ),
    problem: str | None = typer.Option(None, help="A problem statement to solve instead of a cursor."),
    problem_file: Path | None = typer.Option(None, help="Read the problem statement from this file."),
    language: str | None = typer.Option(
        None, help="Language (default: from FILE's extension; python for problems)."
    ),
    workspace: Path | None = typer.Option(
        None,
        help="Project folder FILE belongs to: definitions and similar code from its other files go into the "
        "prompt and the reward input (settings [context]; docs/repository-context.md).",
    ),
    show_all: bool = typer.Option(False, "--all", help="Also show the invalid candidates, with the reason."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result as one JSON object (every candidate, 1-based positions)."
    ),
    *,
    settings: Settings,
) -> None:
    """Generate N candidates, keep the valid ones, score them with the reward model and print them ranked."""
    from engine import rank_report
    from engine.document import DocumentContext
    from engine.protocol import Document, RankRequest
    from engine.ranker import connect
    from engine.syntax.languages import resolve_language, unchecked_note

    if (file is None) == (problem is None and problem_file is None):
        raise CodescalerError("give either FILE with a cursor, or --problem / --problem-file")
    if language is not None and resolve_language(language) is None:
        typer.echo(f"codescaler: warning: unknown language {language!r}: {unchecked_note()}", err=True)
    context = None
    if file is not None:
        text = read_text(file, "document")
        context = DocumentContext.from_cursor(
            text, line=line, col=col, marker=marker, language=language, path=str(file)
        )
        if workspace is not None:
            context = with_workspace(context, file, workspace, settings)
    elif workspace is not None:
        raise CodescalerError("--workspace needs FILE: repository context is for a cursor in a file")
    elif problem_file is not None:
        problem = read_text(problem_file, "problem file")
    document = None if context is None else Document.at(context)
    request = RankRequest.of(
        settings.rank_options, document=document, problem=None if document else problem, language=language
    )
    ranker = connect(settings)
    try:
        result = ranker.rank(request)
    finally:
        ranker.close()
    if as_json:
        typer.echo(json.dumps(rank_report.as_json(result, context), ensure_ascii=False))
        return
    typer.echo(rank_report.summary(result, request.threshold, show_all))
    if not any(rank_report.shown(item) for item in result.items):
        typer.echo(rank_report.nothing_to_show(result, request.threshold))
    for number, item in enumerate(rank_report.ordered(result, show_all), start=1):
        score = "-" if item.score is None else f"{item.score:.3f}"
        if rank_report.shown(item):
            typer.echo(f"#{number}  reward {item.reward:.3f}  (score {score})")
        else:
            typer.echo(f"invalid: {item.reason or 'empty'}")
        for line in rank_report.in_context(context, item):
            typer.echo("    " + line)


def with_workspace(context, file: Path, workspace: Path, settings: Settings):
    """`context` with the repository context of `workspace` (indexed now, in this process)."""
    from dataclasses import replace

    from engine.workspace.files import FileRules
    from engine.workspace.index import WorkspaceIndex
    from engine.workspace.retrieval import retrieve

    if not workspace.is_dir():
        raise CodescalerError(f"--workspace {workspace} is not a folder")
    options = settings.layers["context"]
    if not settings.context_for(context.language):
        return context
    index = WorkspaceIndex(workspace, FileRules(exclude=tuple(options["exclude"])))
    index.build()
    if index.relative(file) is None:
        raise CodescalerError(f"{file} is not inside --workspace {workspace} (or is excluded there)")
    found = retrieve(index, str(file), context.text, context.offset, options["max_chars"])
    relative = index.relative(file)
    return replace(context, path=relative, repo=tuple(found.snippets))


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
