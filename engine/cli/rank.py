"""`codescaler rank`: best-of-N completions at a cursor, or solutions to a problem statement."""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from engine.cli.engine_options import ENGINE_TOKEN, ENGINE_URL, engine_endpoint
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
    resolve_models,
)
from engine.errors import CodescalerError
from engine.model_spec import ModelSpec

RANK_DEFAULTS = {"n": 8, "max_new_tokens": 64, "temperature": 0.8}

log = logging.getLogger(__name__)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodescalerError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def _rank_local(spec: ModelSpec, context: Any, problem: str, language: str | None, request: dict) -> dict:
    from engine.best_of_n import BestOfN, RankOptions

    log.info("loading models %s", spec.label)
    with ExitStack() as stack:
        generator, scorer = spec.load(stack)
        engine = BestOfN(generator, scorer, spec.fim_template)
        options = RankOptions(**request)
        if context is not None:
            result = engine.complete(context, options)
        else:
            result = engine.solve(problem, language or "python", options)
    return {
        "items": [asdict(item) for item in result.items],
        "generated": result.generated,
        "dropped": result.dropped,
    }


def _rank_remote(
    url: str, token: str | None, context: Any, problem: str, language: str | None, request: dict
) -> dict:
    from engine.serve.client import EngineClient
    from engine.serve.remote_ranker import document_fields

    message = {"type": "rank", **request}
    if context is not None:
        message["document"] = document_fields(context)
    else:
        message.update(problem=problem, language=language or "python")
    with EngineClient(url, token) as client:
        return client.request(message)


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
    n: int | None = typer.Option(None, "-n", help="Candidates to sample (default 8)."),
    max_new_tokens: int | None = typer.Option(None, help="Longest candidate, in tokens (default 64)."),
    temperature: float | None = typer.Option(None, help="Sampling temperature, 0 = greedy (default 0.8)."),
    seed: int | None = typer.Option(None, help="Seed for reproducible sampling."),
    top_k: int | None = typer.Option(None, help="Show at most this many candidates."),
    threshold: float | None = typer.Option(None, help="Show nothing whose shaped reward is below this."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array instead of text."),
) -> None:
    """Generate N candidates, keep the valid ones, score them with the reward model and print them ranked."""
    from engine.document import DocumentContext

    if (file is None) == (problem is None and problem_file is None):
        raise CodescalerError("give either FILE with a cursor, or --problem / --problem-file")
    context = None
    if file is not None:
        text = _read_text(file, "document")
        if marker is not None:
            context = DocumentContext.at_marker(text, marker, language, str(file))
        elif line is not None and col is not None:
            context = DocumentContext.at_line_col(text, line - 1, col - 1, language, str(file))
        else:
            raise CodescalerError("give the cursor with --line and --col, or with --marker")
    elif problem_file is not None:
        problem = _read_text(problem_file, "problem file")
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
    )
    flags = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed,
             "threshold": threshold}  # fmt: skip
    completion = {**RANK_DEFAULTS, **settings.get("completion", {})}
    request = {key: completion.get(key) if value is None else value for key, value in flags.items()}
    request["top_k"] = top_k
    if request["n"] < 1:
        raise CodescalerError("-n must be at least 1")
    engine_url, token = engine_endpoint(settings, engine_url, token)
    if engine_url:
        reply = _rank_remote(engine_url, token, context, problem or "", language, request)
    else:
        reply = _rank_local(spec, context, problem or "", language, request)
    rows, generated, dropped = reply["items"], reply["generated"], reply["dropped"]
    if context is not None:
        start = context.position()
        for row in rows:
            end = (start[0], start[1] + row["replace_chars"])
            row["range"] = {
                "start": {"line": start[0], "character": start[1]},
                "end": {"line": end[0], "character": end[1]},
            }
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo(f"no suggestion ({generated} sampled; dropped: {dropped or 'none'})")
    for row in rows:
        score = "-" if row["score"] is None else f"{row['score']:.3f}"
        state = {True: "valid", False: "invalid", None: "unchecked"}[row["valid"]]
        typer.echo(f"#{row['rank']}  reward {row['reward']:.3f}  score {score}  {state}")
        typer.echo("    " + row["text"].replace("\n", "\n    "))


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
