"""`codescaler eval repo`: cross-file completion tasks built from installed packages, with and without
repository context (training/evaluation/repo_tasks.py, repo_eval.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from engine.cli.options import ENGINE, MODELS, shared_options
from engine.errors import CodescalerError
from engine.settings import Settings
from training.cli.eval_fim import SAMPLING, _model_settings

RECALL_TASKS = 2_000  # candidate tasks whose retrieval recall is measured (no model needed)


@shared_options(MODELS, ENGINE, SAMPLING)
def repo(
    packages: str = typer.Option(
        ..., help="Installed pure-Python packages to build tasks from, comma-separated (e.g. httpx,click)."
    ),
    limit: int | None = typer.Option(
        None, help="Evaluate at most K tasks (drawn with --seed, all packages)."
    ),
    seed: int = typer.Option(0, help="Run seed: the task sample and each task's sampling seed."),
    out: Path = typer.Option(
        ..., help="Folder for results.jsonl (resumable), settings.json, report.json/.md, plot."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    *,
    settings: Settings,
) -> None:
    """Retrieval recall, and exact match / edit similarity of completions with and without context."""
    import json

    from engine.jsonl import write_text_atomic
    from engine.ranker import connect
    from training.evaluation import repo_eval
    from training.evaluation.append_log import AppendLog
    from training.evaluation.repo_tasks import build_tasks, sample_tasks
    from training.run_settings import check_run_settings

    names = [name.strip() for name in packages.split(",") if name.strip()]
    if not names:
        raise CodescalerError("--packages needs at least one installed package name")
    if limit is not None and limit < 1:
        raise CodescalerError("--limit must be at least 1")
    budget = settings.layers["context"]["max_chars"]
    options = settings.rank_options
    all_tasks, indexes = build_tasks(names)
    tasks = sample_tasks(all_tasks, limit, seed)
    recorded = {"packages": names, "limit": limit, "seed": seed, "context_max_chars": budget,
                "context_share": options.context_share,
                **{name: getattr(options, name) for name in SAMPLING}, **_model_settings(settings)}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    check_run_settings(
        out / "settings.json", recorded, str(out), "use a new --out, or the same settings to resume it"
    )
    log = AppendLog(out / "results.jsonl")
    left = [task for task in tasks if task.task_id not in log]
    ranker = connect(settings, timeout_s=600.0) if left else None
    try:
        records = repo_eval.evaluate(ranker, tasks, indexes, options, budget, seed, log, progress=not quiet)  # type: ignore[arg-type]
    finally:
        if ranker is not None:
            ranker.close()
    recall_all = repo_eval.candidate_recall(all_tasks, indexes, budget, RECALL_TASKS, seed)
    summary = repo_eval.report(records, recall_all, seed)
    summary["candidate_tasks"] = len(all_tasks)
    for line in repo_eval.summary_lines(summary):
        typer.echo(line)
    plot = "repo_completion.png" if records else None
    if plot:
        repo_eval.write_plot(summary, out / plot)
    write_text_atomic(
        out / "report.json",
        json.dumps({"benchmark": "eval repo", "settings": recorded, **summary}, indent=2) + "\n",
    )
    write_text_atomic(out / "report.md", repo_eval.markdown(summary, recorded, plot))
