"""`codescaler eval fim`: HumanEval-Infilling pass rate of the ranker's top candidate, the first sample and
the oracle, through the editor's own completion path (training/evaluation/infilling.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from engine.cli.options import ENGINE, MODELS, shared_options
from engine.errors import CodescalerError
from engine.settings import Settings

SAMPLING = ("n", "max_new_tokens", "temperature", "top_p", "line_mode")
DATA_HELP = "Tasks file instead (.jsonl or .jsonl.gz: task_id, entry_point, prompt, suffix, canonical_solution, test)."


def _model_settings(settings: Settings) -> dict[str, Any]:
    """What answers the completions, for the recorded settings (a resumed run must not mix engines)."""
    if settings.engine_url:
        from engine.serve.client import served_models

        return {
            "engine": settings.engine_url,
            "models": served_models(settings.engine_url, settings.engine_token),
        }
    spec = settings.models.resolved()  # the bundled models' folders when none is configured
    return {"policy": spec.policy, "reward_model": spec.reward_model, "policy_backend": spec.policy_backend,
            "reward_backend": spec.reward_backend, "fim_template": spec.fim_template}  # fmt: skip


@shared_options(MODELS, ENGINE, SAMPLING)
def fim(
    set_name: str | None = typer.Option(
        None,
        "--set",
        help="single | multi | random-span | random-span-light: a HumanEval-Infilling set shipped with "
        "codescaler (default single).",
    ),
    data: Path | None = typer.Option(None, help=DATA_HELP),
    limit: int | None = typer.Option(None, help="Use only the first K tasks of the file."),
    seed: int = typer.Option(0, help="Run seed: each task's sampling seed derives from it and its task_id."),
    workers: int | None = typer.Option(None, help="Sandboxes at once (default: one per CPU)."),
    out: Path | None = typer.Option(
        None, help="Folder for results.jsonl (resumable), settings.json, report.json and report.md."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    *,
    settings: Settings,
) -> None:
    """HumanEval-Infilling pass rate of the top-ranked candidate, the first sample and the oracle.

    Each gap is completed as the editor would complete it, every cleaned candidate runs against the tests
    in the sandbox, and the rates come with 95% bootstrap intervals."""
    from engine.ranker import connect
    from training.cli.evaluate import _write_report
    from training.evaluation import infilling
    from training.evaluation.append_log import AppendLog

    if set_name is not None and set_name not in infilling.SETS:
        raise CodescalerError(f"unknown --set {set_name!r}: use {', '.join(infilling.SETS)}")
    if (limit is not None and limit < 1) or (workers is not None and workers < 1):
        raise CodescalerError("--limit and --workers must be at least 1")
    path = data if data is not None else infilling.bundled_path(set_name or "single")
    label = infilling.set_label(set_name, data)
    options = settings.rank_options
    sampling = {name: getattr(options, name) for name in SAMPLING}
    tasks = infilling.load_tasks(path, limit)
    recorded = {"data": str(path.resolve()), "seed": seed, **sampling, **_model_settings(settings)}
    log = None
    if out is not None:
        infilling.check_settings(out, recorded)
        log = AppendLog(out / "results.jsonl")
    left = [task for task in tasks if log is None or task.task_id not in log]
    ranker = connect(settings, timeout_s=600.0) if left else None  # resumed with nothing left: no engine
    try:
        verify = infilling.sandbox_verifier(workers)
        records = infilling.evaluate(ranker, tasks, options, seed, verify, log, progress=not quiet)  # type: ignore[arg-type]
    finally:
        if ranker is not None:
            ranker.close()
    summary = infilling.report(records, seed)
    report = {"benchmark": "HumanEval-Infilling", "set": label, "settings": recorded, **summary}
    typer.echo(infilling.summary_line(label, summary, options.n))
    typer.echo(infilling.detail_line(summary))
    for line in infilling.gain_lines(summary):
        typer.echo(line)
    if out is not None:
        _write_report(out, report, infilling.markdown(label, summary, recorded))
