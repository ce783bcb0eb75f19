"""`codescaler eval fim`: HumanEval-Infilling pass rate of the ranker's top candidate, the first sample and
the oracle, through the editor's own completion path (training/evaluation/infilling.py)."""

from __future__ import annotations

from contextlib import ExitStack
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

LINE_MODES = ("auto", "single", "multi")
DATA_HELP = "Tasks file instead (.jsonl or .jsonl.gz: task_id, entry_point, prompt, suffix, canonical_solution, test)."


def _completion_settings(settings: dict[str, dict[str, Any]], flags: dict[str, Any]) -> dict[str, Any]:
    """Sampling settings as `codescaler rank` resolves them: flags, else the config file's [completion],
    else rank's defaults; so the evaluation measures what the editor runs unless told otherwise."""
    from engine.best_of_n import RankOptions
    from engine.cli.rank import RANK_DEFAULTS

    defaults = {**RANK_DEFAULTS, "top_p": RankOptions.top_p, "line_mode": RankOptions.line_mode}
    completion = {**defaults, **settings.get("completion", {})}
    return {key: completion[key] if flags.get(key) is None else flags[key] for key in defaults}


def _check(sampling: dict[str, Any], limit: int | None, workers: int | None) -> None:
    if sampling["n"] < 1 or sampling["max_new_tokens"] < 1:
        raise CodescalerError("-n and --max-new-tokens must be at least 1")
    if sampling["temperature"] < 0:
        raise CodescalerError("--temperature must not be negative")
    if sampling["line_mode"] not in LINE_MODES:
        raise CodescalerError(
            f"--line-mode must be one of {', '.join(LINE_MODES)}, not {sampling['line_mode']!r}"
        )
    if (limit is not None and limit < 1) or (workers is not None and workers < 1):
        raise CodescalerError("--limit and --workers must be at least 1")


def _model_settings(spec: Any, engine_url: str | None, token: str | None) -> dict[str, Any]:
    """What answers the completions, for the recorded settings (a resumed run must not mix engines)."""
    if engine_url:
        from engine.serve.remote_ranker import served_models

        return {"engine": engine_url, "models": served_models(engine_url, token)}
    spec = spec.resolved()  # the bundled models' folders when none is configured
    return {"policy": spec.policy, "reward_model": spec.reward_model, "policy_backend": spec.policy_backend,
            "reward_backend": spec.reward_backend, "fim_template": spec.fim_template}  # fmt: skip


def fim(
    set_name: str | None = typer.Option(
        None, "--set", help="single | multi: the bundled HumanEval-Infilling set (default single)."
    ),
    data: Path | None = typer.Option(None, help=DATA_HELP),
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
    n: int | None = typer.Option(None, "-n", help="Candidates to sample per task (default 8)."),
    max_new_tokens: int | None = typer.Option(None, help="Longest candidate, in tokens (default 64)."),
    temperature: float | None = typer.Option(None, help="Sampling temperature, 0 = greedy (default 0.8)."),
    line_mode: str | None = typer.Option(None, help="auto (default) | single | multi"),
    limit: int | None = typer.Option(None, help="Use only the first K tasks of the file."),
    seed: int = typer.Option(0, help="Run seed: each task's sampling seed derives from it and its task_id."),
    workers: int | None = typer.Option(None, help="Sandboxes at once (default: one per CPU)."),
    out: Path | None = typer.Option(
        None, help="Folder for results.jsonl (resumable), settings.json, report.json and report.md."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """HumanEval-Infilling pass rate of the top-ranked candidate, the first sample and the oracle.

    Each gap is completed as the editor would complete it, every cleaned candidate runs against the tests
    in the sandbox, and the rates come with 95% bootstrap intervals."""
    from engine.best_of_n import BestOfN, RankOptions
    from engine.serve.client import EngineClient
    from engine.serve.remote_ranker import RemoteRanker
    from training.cli.evaluate import _write_report
    from training.evaluation import infilling
    from training.evaluation.append_log import AppendLog

    if set_name is not None and set_name not in infilling.SETS:
        raise CodescalerError(f"unknown --set {set_name!r}: use single or multi")
    path = data if data is not None else infilling.bundled_path(set_name or "single")
    label = infilling.set_label(set_name, data)
    spec, config_settings = resolve_models(
        config, policy=policy, reward_model=reward_model, policy_backend=policy_backend, policy_url=policy_url,
        reward_backend=reward_backend, reward_url=reward_url, api_key=api_key, fim_template=fim_template,
    )  # fmt: skip
    flags = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "line_mode": line_mode}
    sampling = _completion_settings(config_settings, flags)
    _check(sampling, limit, workers)
    tasks = infilling.load_tasks(path, limit)
    engine_url, token = engine_endpoint(config_settings, engine_url, token)
    settings = {
        "data": str(path.resolve()),
        "seed": seed,
        **sampling,
        **_model_settings(spec, engine_url, token),
    }
    log = None
    if out is not None:
        infilling.check_settings(out, settings)
        log = AppendLog(out / "results.jsonl")
    with ExitStack() as stack:
        left = [task for task in tasks if log is None or task.task_id not in log]
        engine: Any = None  # resumed with nothing left: nothing to load or connect to
        if left and engine_url:
            engine = RemoteRanker(stack.enter_context(EngineClient(engine_url, token, timeout_s=600.0)))
        elif left:
            engine = BestOfN(*spec.load(stack), spec.fim_template)
        options = RankOptions(**sampling)
        verify = infilling.sandbox_verifier(workers)
        records = infilling.evaluate(engine, tasks, options, seed, verify, log, progress=not quiet)  # type: ignore[arg-type]
    summary = infilling.report(records, seed)
    report = {"benchmark": "HumanEval-Infilling", "set": label, "settings": settings, **summary}
    line = infilling.summary_line(label, summary, sampling["n"])
    typer.echo(line)
    typer.echo(infilling.detail_line(summary))
    if out is not None:
        _write_report(out, report, infilling.markdown(label, summary, settings))
