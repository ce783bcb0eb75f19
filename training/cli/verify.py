"""`codescaler verify`: run candidate programs against their problems' tests in the sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, string_field, write_jsonl_atomic
from training.cli.extra import needs_train_extra
from training.sandbox.limits import Limits

_DEFAULTS = Limits()


def read_candidates(path: Path, task_ids: dict[str, Any], limit: int | None) -> list[tuple[str, str]]:
    """(task_id, code) rows, checked before anything runs: an unknown task_id, a missing `code` or a bad
    line is an error naming the file and line (a typo found after an hour of verification costs an hour)."""
    rows = []
    for number, row in read_jsonl(path):
        if limit is not None and len(rows) >= limit:
            break
        where = f"{path}:{number}"
        task_id = string_field(row, "task_id", where) or ""
        if task_id not in task_ids:
            raise CodescalerError(f"{where}: field 'task_id': unknown task '{task_id}' (not in the problems)")
        rows.append((task_id, string_field(row, "code", where) or ""))
    if not rows:
        raise CodescalerError(f"{path}: no candidates (the file is empty)")
    return rows


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "codescaler" / "test-plans"


def verify(
    problems: str = typer.Option(
        ...,
        "--problems",
        "-p",
        help="humaneval, mbppplus[:PATH], mbppplus-asserts[:PATH], hf:DATASET[:CONFIG[:SPLIT]] or a JSONL "
        "problems file.",
    ),
    candidates: Path = typer.Option(
        ..., "--candidates", "-c", help="JSONL of {task_id, code} rows (complete programs); - reads stdin."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the JSONL here (atomically) instead of stdout."
    ),
    workers: int | None = typer.Option(None, help="Sandboxes at a time (default: one per CPU)."),
    timeout: float = typer.Option(_DEFAULTS.timeout_s, help="Seconds per test (a call, or a stdio run)."),
    total_timeout: float = typer.Option(
        _DEFAULTS.total_timeout_s, help="Seconds for all tests of a candidate."
    ),
    memory_mb: int = typer.Option(
        _DEFAULTS.memory_mb,
        help="Memory of a candidate's processes together (a memory cgroup; per process where the machine "
        "has none), in MiB.",
    ),
    limit: int | None = typer.Option(None, help="Verify only the first K candidates."),
    cache_dir: Path | None = typer.Option(
        None,
        help="Keep the test plans computed from reference solutions here (default: "
        "$XDG_CACHE_HOME/codescaler/test-plans).",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not keep computed test plans on disk."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line."),
) -> None:
    """Run candidate programs against their problems' tests, each in a fresh sandbox; print one JSON object
    per candidate, in input order: task_id, passed, status, detail, tests (status, detail, duration_s of
    each) and duration_s. Statuses: passed, wrong_answer, runtime_error, timeout, memory, syntax_error,
    killed (docs/sandbox.md)."""
    from training.data.problems import load_problems
    from training.verify import verify_many

    if workers is not None and workers < 1:
        raise CodescalerError("--workers must be at least 1")
    if limit is not None and limit < 1:
        raise CodescalerError("--limit must be at least 1")
    limits = Limits(timeout_s=timeout, total_timeout_s=total_timeout, memory_mb=memory_mb)
    loaded = load_problems(problems)
    rows = read_candidates(candidates, loaded, limit)
    pairs = [(loaded[task_id], code) for task_id, code in rows]
    verdicts = verify_many(
        pairs,
        limits,
        workers=workers,
        progress=not quiet,
        cache_dir=None if no_cache else cache_dir or default_cache_dir(),
    )
    passed = 0

    def results() -> Any:
        nonlocal passed
        for verdict in verdicts:
            passed += verdict.passed
            yield verdict.to_row()

    if out is not None:
        write_jsonl_atomic(out, results())
    else:
        for row in results():
            typer.echo(json.dumps(row, ensure_ascii=False))
    if not quiet:
        share = 100 * passed / len(pairs)
        typer.echo(f"codescaler: {passed} of {len(pairs)} candidates passed ({share:.1f}%)", err=True)


def register(app: typer.Typer) -> None:
    app.command("verify")(needs_train_extra(verify))
