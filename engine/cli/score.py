"""`codescaler score`: score and rank candidate programs for one question with a reward model."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import typer

from engine.candidates import read_candidates
from engine.cli.options import shared_options
from engine.errors import CodescalerError
from engine.jsonl import write_jsonl_atomic
from engine.model_spec import ModelSpec
from engine.protocol import ScoredCandidate
from engine.reward.formatter import DEFAULT_MAX_TOKENS
from engine.settings import Settings
from engine.text_files import read_text

log = logging.getLogger(__name__)


def output_row(result: ScoredCandidate) -> dict[str, Any]:
    """The JSON object printed for one candidate; truncation details appear only when something was cut."""
    row = msgspec.structs.asdict(result)
    if not (result.question_chars_cut or result.code_chars_cut):
        del row["question_chars_cut"], row["code_chars_cut"]
    return row


@shared_options("reward_model", "reward_backend", "reward_url", "api_key")
def score(
    question: str | None = typer.Option(None, "--question", "-q", help="The problem statement."),
    question_file: Path | None = typer.Option(None, help="Read the problem statement from this file."),
    candidates: Path = typer.Option(
        ..., "--candidates", "-c", help="JSONL of {response} or {code, language} rows; - reads stdin."
    ),
    language: str | None = typer.Option(
        None,
        help="Language of candidates whose row (language, path) or fence tag names none (python, go, ...).",
    ),
    extraction: str = typer.Option(
        "reference", help="reference (exactly one fenced block) | lenient (last block)"
    ),
    shaping: str = typer.Option("softplus", help="softplus (validity-preserving) | raw (ablation: no gate)"),
    max_tokens: int = typer.Option(DEFAULT_MAX_TOKENS, help="Token budget of one reward-model input."),
    dtype: str | None = typer.Option(None, help="Model dtype; default bfloat16 on CUDA, float32 on CPU."),
    device: str | None = typer.Option(
        None, help="transformers backend device; default cuda if present, else cpu."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the JSONL here (atomically) instead of stdout."
    ),
    model: str | None = typer.Option(None, "--model", "-m", hidden=True),
    backend: str | None = typer.Option(None, "--backend", hidden=True),
    url: str | None = typer.Option(None, "--url", hidden=True),
    *,
    settings: Settings,
) -> None:
    """Score candidate programs for one question; print one JSON object per candidate, in input order.

    Each object has code, language, valid, reason, score (raw logit, null when not scored), reward
    (shaped) and rank (1 = best).
    """
    from engine.candidates import score_candidates
    from engine.reward.scorer import BACKENDS, load_scorer

    spec = _with_deprecated_flags(settings.models, model=model, backend=backend, url=url).resolved()
    if spec.reward_backend not in BACKENDS:
        raise CodescalerError(f"unknown backend {spec.reward_backend!r}: use one of {', '.join(BACKENDS)}")
    if extraction not in ("reference", "lenient"):
        raise CodescalerError(f"unknown extraction mode {extraction!r}: use reference or lenient")
    if shaping not in ("softplus", "raw"):
        raise CodescalerError(f"unknown shaping mode {shaping!r}: use softplus or raw")
    if (question is None) == (question_file is None):
        raise CodescalerError("give the question with exactly one of --question or --question-file")
    if question_file is not None:
        question = read_text(question_file, "question file")
    rows = read_candidates(candidates, language, extraction)
    log.info("loading reward model %s with the %s backend", spec.reward_model, spec.reward_backend)
    with load_scorer(
        spec.reward_model,  # type: ignore[arg-type]
        spec.reward_backend,
        url=spec.reward_url,
        api_key=spec.api_key,
        max_tokens=max_tokens,
        dtype=dtype,
        device=device,
    ) as scorer:
        results = [output_row(r) for r in score_candidates(scorer, question or "", rows, shaping)]  # type: ignore[arg-type]
    if out is not None:
        write_jsonl_atomic(out, results)
    else:
        for row in results:
            typer.echo(json.dumps(row, ensure_ascii=False))


def _with_deprecated_flags(spec: ModelSpec, **old: str | None) -> ModelSpec:
    """`--model/-m`, `--backend` and `--url` (this command's names before 0.2) still work, with a warning."""
    new_names = {"model": "reward_model", "backend": "reward_backend", "url": "reward_url"}
    changes = {}
    for name, value in old.items():
        if value is not None:
            flag = new_names[name].replace("_", "-")
            typer.echo(f"codescaler: warning: --{name} is deprecated; use --{flag}", err=True)
            changes[new_names[name]] = value
    return replace(spec, **changes)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
