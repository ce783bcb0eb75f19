"""`codescaler rank`: best-of-N completions at a cursor, or solutions to a problem statement."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import typer

from engine.errors import CodescalerError

log = logging.getLogger(__name__)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodescalerError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from exc


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
    policy: str = typer.Option(
        ..., "--policy", help="Code model: local folder or hub id (tokenizer for openai)."
    ),
    reward_model: str = typer.Option(..., "--reward-model", help="Reward model: local folder or hub id."),
    policy_backend: str = typer.Option("transformers", help="transformers | vllm | openai"),
    policy_url: str | None = typer.Option(
        None, help="OpenAI-compatible server for the openai policy backend."
    ),
    reward_backend: str = typer.Option("transformers", help="transformers | vllm | http"),
    reward_url: str | None = typer.Option(None, help="vLLM pooling server for the http reward backend."),
    api_key: str | None = typer.Option(
        None, envvar="CODESCALER_API_KEY", help="Bearer token for model servers."
    ),
    fim_template: str = typer.Option("auto", help="auto | qwen | starcoder | deepseek | codellama"),
    n: int = typer.Option(8, "-n", help="Candidates to sample."),
    max_new_tokens: int = typer.Option(64, help="Longest candidate, in tokens."),
    temperature: float = typer.Option(0.8, help="Sampling temperature (0 = greedy)."),
    seed: int | None = typer.Option(None, help="Seed for reproducible sampling."),
    top_k: int | None = typer.Option(None, help="Show at most this many candidates."),
    threshold: float | None = typer.Option(None, help="Show nothing whose shaped reward is below this."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array instead of text."),
) -> None:
    """Generate N candidates, keep the valid ones, score them with the reward model and print them ranked."""
    from engine.best_of_n import BestOfN, RankOptions
    from engine.document import DocumentContext
    from engine.generation.base import load_generator
    from engine.reward.scorer import load_scorer

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
    if n < 1:
        raise CodescalerError("-n must be at least 1")
    options = RankOptions(
        n=n,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        top_k=top_k,
        threshold=threshold,
    )
    log.info(
        "loading policy %s (%s) and reward model %s (%s)",
        policy,
        policy_backend,
        reward_model,
        reward_backend,
    )
    with (
        load_generator(policy, policy_backend, url=policy_url, api_key=api_key) as generator,
        load_scorer(reward_model, reward_backend, url=reward_url, api_key=api_key) as scorer,  # type: ignore[arg-type]
    ):
        engine = BestOfN(generator, scorer, fim_template)
        if context is not None:
            result = engine.complete(context, options)
        else:
            result = engine.solve(problem or "", language or "python", options)
    rows = [asdict(item) for item in result.items]
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
        typer.echo(f"no suggestion ({result.generated} sampled; dropped: {result.dropped or 'none'})")
    for row in rows:
        score = "-" if row["score"] is None else f"{row['score']:.3f}"
        state = {True: "valid", False: "invalid", None: "unchecked"}[row["valid"]]
        typer.echo(f"#{row['rank']}  reward {row['reward']:.3f}  score {score}  {state}")
        typer.echo("    " + row["text"].replace("\n", "\n    "))


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
