"""`codescaler eval`: measure the product's claims on your models and data (docs/evaluation.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from engine.errors import CodescalerError
from training.cli.eval_bon import bon
from training.cli.eval_fim import fim
from training.cli.eval_repo import repo
from training.cli.extra import needs_train_extra

eval_app = typer.Typer(
    help="Evaluate reward models and best-of-N selection.", no_args_is_help=True, rich_markup_mode=None
)


def _rows(path: Path) -> list[dict[str, Any]]:
    """JSONL, or anything `datasets` reads (parquet, JSON, a saved folder, hf:...)."""
    from engine.jsonl import read_jsonl
    from training.data.hf import HFRef, load_dataset_rows, parse_hf_ref

    text = str(path)
    if text.endswith(".jsonl"):
        return [row for _, row in read_jsonl(text)]
    if not text.startswith("hf:") and not path.exists():
        raise CodescalerError(f"no data file {text}: give a .jsonl/.parquet/.json file or hf:DATASET")
    ref = parse_hf_ref(text) if text.startswith("hf:") else HFRef(text)
    return [row for _, row in load_dataset_rows(ref)]


def _write_report(out: Path, report: dict[str, Any], markdown: str) -> None:
    from engine.jsonl import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "report.md", markdown)


@eval_app.command("rm")
@needs_train_extra
def rm(
    reward_model: str = typer.Option(..., help="Reward model: local folder or hub id."),
    data: Path | None = typer.Option(
        None, help="Pairs (question_content, code_pos, code_neg) or RM-Bench rows."
    ),
    fim_set: str | None = typer.Option(
        None,
        help="Instead of --data: completion pairs built from a HumanEval-Infilling set (single | multi | "
        "span | random-span-light): its middle against failing one-edit mutants, through the editor's input.",
    ),
    mutants_per_task: int = typer.Option(4, help="With --fim-set: mutants tried per task."),
    workers: int | None = typer.Option(
        None, help="With --fim-set: sandboxes at once (default: one per CPU)."
    ),
    reward_backend: str = typer.Option("transformers", help="transformers | vllm"),
    max_tokens: int = typer.Option(4096, help="Reward-input budget."),
    limit: int | None = typer.Option(None, help="Use only the first K rows."),
    seed: int = typer.Option(0, help="Seed of the bootstrap interval."),
    out: Path | None = typer.Option(
        None, help="Folder for report.json and report.md (and --fim-set's pairs)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Pairwise accuracy on preference pairs, easy / normal / hard accuracy on RM-Bench code rows, or
    (--fim-set) accuracy on completion pairs at the editor's cursor, by mutant kind."""
    from engine.reward.scorer import load_scorer
    from training.data.pairs import read_pairs
    from training.evaluation.rm_accuracy import pairwise_report, rm_bench_report

    if (data is None) == (fim_set is None):
        raise CodescalerError("give --data FILE (pairs or RM-Bench rows) or --fim-set NAME, not both")
    if fim_set is not None:
        _fim_pairs(
            reward_model,
            fim_set,
            reward_backend,
            max_tokens,
            limit,
            seed,
            mutants_per_task,
            workers,
            out,
            quiet,
        )
        return
    assert data is not None
    rows = _rows(data)
    rm_bench = bool(rows) and isinstance(rows[0].get("chosen"), list)
    if rm_bench:
        rows = [row for row in rows if row.get("domain", "code") == "code"][:limit]
    else:
        pairs = [(p.question_content, p.code_pos, p.code_neg) for p in read_pairs(data)][:limit]
    if not (rows if rm_bench else pairs):
        raise CodescalerError(f"{data} holds no rows to evaluate")
    with load_scorer(reward_model, reward_backend, max_tokens=max_tokens) as scorer:  # type: ignore[arg-type]
        report = rm_bench_report(scorer, rows) if rm_bench else pairwise_report(scorer, pairs, seed)
    report = {"reward_model": reward_model, "data": str(data), "format": "rm-bench" if rm_bench else "pairs",
              **report}  # fmt: skip
    if rm_bench:
        line = f"RM-Bench code: easy {report['easy']:.3f}  normal {report['normal']:.3f}  hard {report['hard']:.3f}"
        line += f"  ({report['rows']} rows)"
    else:
        low, high = report["interval"]
        line = (
            f"pairwise accuracy {report['accuracy']:.3f} [{low:.3f}, {high:.3f}] on {report['pairs']} pairs"
        )
    typer.echo(line)
    if out is not None:
        _write_report(out, report, f"# Reward model {reward_model} on {data}\n\n{line}\n")


def _fim_pairs(
    reward_model: str, set_name: str, reward_backend: str, max_tokens: int, limit: int | None, seed: int,
    per_task: int, workers: int | None, out: Path | None, quiet: bool,
) -> None:  # fmt: skip
    """`eval rm --fim-set`: training/evaluation/fim_rm.py."""
    from engine.hub import check_available
    from engine.reward.scorer import load_scorer
    from training.evaluation import fim_rm, infilling
    from training.evaluation.append_log import AppendLog

    set_name = "random-span" if set_name == "span" else set_name
    if set_name not in infilling.SETS:
        raise CodescalerError(f"unknown --fim-set {set_name!r}: use single, multi, span or random-span-light")
    if per_task < 1 or (limit is not None and limit < 1):
        raise CodescalerError("--mutants-per-task and --limit must be at least 1")
    check_available(reward_model, "--reward-model")
    tasks = infilling.load_tasks(infilling.bundled_path(set_name), limit)
    log = None
    if out is not None:
        infilling.check_settings(out, {"fim_set": set_name, "seed": seed, "mutants_per_task": per_task})
        log = AppendLog(out / "pairs.jsonl")
    records = fim_rm.build_pairs(tasks, seed, per_task, infilling.sandbox_verifier(workers), log, not quiet)
    with load_scorer(reward_model, reward_backend, max_tokens=max_tokens) as scorer:  # type: ignore[arg-type]
        report = fim_rm.accuracy_report(scorer, tasks, records, seed)
    label = infilling.set_label(set_name, None)
    report = {"reward_model": reward_model, "format": "fim-pairs", "set": label, **report}
    typer.echo(fim_rm.summary_line(label, report))
    if out is not None:
        _write_report(out, report, fim_rm.markdown(label, reward_model, report))


eval_app.command("bon")(needs_train_extra(bon))
eval_app.command("fim")(needs_train_extra(fim))
eval_app.command("repo")(needs_train_extra(repo))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
