"""`codescaler score`: score and rank candidate programs for one question with a reward model."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from engine.candidates import CodeCandidate, ScoredCandidate
from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, string_field, write_jsonl_atomic
from engine.reward.formatter import DEFAULT_MAX_TOKENS
from engine.syntax.extraction import extract_code
from engine.syntax.languages import language_for_path

log = logging.getLogger(__name__)


def read_candidates(path: Path | str, language: str | None, extraction: str) -> list[CodeCandidate]:
    """Candidate rows: `{"response": ...}` (code extracted) or `{"code": ...}` (as is).

    A row's language is its `language` field, else the extension of its `path` field, else the response's
    fence tag, else `language` (the command's default).
    """
    candidates = []
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        if ("response" in row) == ("code" in row):
            raise CodescalerError(f"{where}: a row needs exactly one of 'response' or 'code'")
        named = string_field(row, "language", where, required=False) or language_for_path(
            string_field(row, "path", where, required=False)
        )
        if "response" in row:
            extracted = extract_code(string_field(row, "response", where) or "", extraction)  # type: ignore[arg-type]
            candidates.append(CodeCandidate(extracted.code, named or extracted.tag or language))
        else:
            candidates.append(CodeCandidate(string_field(row, "code", where) or "", named or language))
    if not candidates:
        raise CodescalerError(f"{path}: no candidates (the file is empty)")
    return candidates


def output_row(result: ScoredCandidate) -> dict[str, Any]:
    """The JSON object printed for one candidate; truncation details appear only when something was cut."""
    row = asdict(result)
    if not (result.question_chars_cut or result.code_chars_cut):
        del row["question_chars_cut"], row["code_chars_cut"]
    return row


def score(
    model: str = typer.Option(
        "bundled", "--model", "-m", help="Reward model: local folder or hub id (default: the bundled one)."
    ),
    backend: str = typer.Option("transformers", help="transformers | vllm | http"),
    url: str | None = typer.Option(
        None, help="Base URL of a vLLM server started with --runner pooling (http)."
    ),
    api_key: str | None = typer.Option(
        None, envvar="CODESCALER_API_KEY", help="Bearer token for the http backend's server."
    ),
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
) -> None:
    """Score candidate programs for one question; print one JSON object per candidate, in input order.

    Each object has code, language, valid, reason, score (raw logit, null when not scored), reward
    (shaped) and rank (1 = best).
    """
    from engine.candidates import score_candidates
    from engine.reward.scorer import BACKENDS, load_scorer

    if backend not in BACKENDS:
        raise CodescalerError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if extraction not in ("reference", "lenient"):
        raise CodescalerError(f"unknown extraction mode {extraction!r}: use reference or lenient")
    if shaping not in ("softplus", "raw"):
        raise CodescalerError(f"unknown shaping mode {shaping!r}: use softplus or raw")
    if (question is None) == (question_file is None):
        raise CodescalerError("give the question with exactly one of --question or --question-file")
    if question_file is not None:
        try:
            question = question_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CodescalerError(
                f"cannot read question file {question_file}: {exc.strerror or exc}"
            ) from exc
    rows = read_candidates(candidates, language, extraction)
    log.info("loading reward model %s with the %s backend", model, backend)
    with load_scorer(
        model, backend, url=url, api_key=api_key, max_tokens=max_tokens, dtype=dtype, device=device
    ) as scorer:
        results = [output_row(r) for r in score_candidates(scorer, question or "", rows, shaping)]  # type: ignore[arg-type]
    if out is not None:
        write_jsonl_atomic(out, results)
    else:
        for row in results:
            typer.echo(json.dumps(row, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command("score")(score)
