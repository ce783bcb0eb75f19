"""`eval repo`: does repository context help? Retrieval recall, and completions with and without it.

For each task (training/evaluation/repo_tasks.py):

* **retrieval recall** — the needed definition (the masked name, in the file it comes from) is among
  the snippets retrieved for the cursor within `context.max_chars`; measured on every candidate task
  (no model needed, also by kind of task: an imported name, a module's attribute) and on the evaluated
  ones;
* **completions** — the configured models complete the cursor twice through the engine's own path, with
  the retrieved context in the request and without it; the top-ranked item's line is compared with the
  masked rest of the line: exact match (whitespace-trimmed) and edit similarity (1 - Levenshtein distance
  / the longer length). Both runs of a task use the same sampling seed.

Rates and means come with 95% bootstrap intervals, and the with-minus-without difference with a paired
one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from engine.protocol import Document, RankOptions, RankRequest
from engine.ranker import Ranker
from engine.workspace.index import WorkspaceIndex
from engine.workspace.retrieval import retrieve
from training.evaluation.append_log import AppendLog
from training.evaluation.repo_tasks import RepoTask, sample_tasks
from training.evaluation.rm_accuracy import bootstrap_interval, rate
from training.progress import ProgressBar
from training.sampling import problem_seed

ARMS = ("with_context", "without_context")


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / the longer length (1.0 for two empty strings)."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return 1 - previous[-1] / max(len(a), len(b))


def recalled(task: RepoTask, index: WorkspaceIndex, budget_chars: int) -> tuple[bool, list[Any]]:
    """Whether the definition the task needs is in its retrieved context, and the context."""
    found = retrieve(index, str(task.root / task.path), task.text, task.cursor, budget_chars)
    hit = any(s.symbol == task.symbol and s.path == task.defined_in for s in found.snippets)
    return hit, found.snippets


def _prediction(ranker: Ranker, task: RepoTask, options: RankOptions, context: list[Any] | None) -> str:
    document = Document(
        text=task.text, offset=task.cursor, language="python", path=task.path, context=context
    )
    result = ranker.rank(RankRequest.of(options, document=document))
    top = next((item for item in result.items if item.valid is not False and item.text.strip()), None)
    return "" if top is None else top.text.split("\n", 1)[0].rstrip()


def evaluate(
    ranker: Ranker,
    tasks: Sequence[RepoTask],
    indexes: dict[str, WorkspaceIndex],
    options: RankOptions,
    budget_chars: int,
    seed: int,
    log: AppendLog | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One record per task (from `log` when it has one), each computed once and logged."""
    records = []
    with ProgressBar(len(tasks), "eval repo", "task", progress) as bar:
        for task in tasks:
            if log is not None and task.task_id in log:
                records.append(log.rows[task.task_id])
                bar.update()
                continue
            hit, snippets = recalled(task, indexes[task.package], budget_chars)
            task_options = msgspec.structs.replace(
                options, seed=problem_seed(seed, task.task_id), top_k=None, threshold=None, line_mode="single"
            )
            record: dict[str, Any] = {"task_id": task.task_id, "kind": task.kind, "target": task.target,
                                      "recalled": hit, "context_files": sorted({s.path for s in snippets})}  # fmt: skip
            for arm, context in zip(ARMS, (snippets or None, None), strict=True):
                predicted = _prediction(ranker, task, task_options, context)
                record[arm] = {
                    "prediction": predicted,
                    "exact": predicted.strip() == task.target.strip(),
                    "similarity": round(edit_similarity(predicted.strip(), task.target.strip()), 4),
                }
            if log is not None:
                log.record(task.task_id, **record)
            records.append(record)
            bar.update()
    return records


def paired_difference(
    with_values: Sequence[float], without_values: Sequence[float], seed: int
) -> dict[str, Any]:
    differences = [a - b for a, b in zip(with_values, without_values, strict=True)]
    mean = sum(differences) / len(differences) if differences else None
    return {"mean": mean, "interval": list(bootstrap_interval(differences, seed))}


def report(records: list[dict[str, Any]], recall_all: list[tuple[str, bool]], seed: int) -> dict[str, Any]:
    """The summary: recall on the evaluated tasks, on all candidates and by kind of task, and the two
    completion arms with their paired difference."""
    kinds = sorted({kind for kind, _ in recall_all})
    summary: dict[str, Any] = {
        "tasks": len(records),
        "retrieval_recall": rate([float(r["recalled"]) for r in records], seed),
        "retrieval_recall_all_candidates": {
            **rate([float(hit) for _, hit in recall_all], seed),
            "tasks": len(recall_all),
        },
        "retrieval_recall_by_kind": {
            kind: {
                **rate(hits := [float(hit) for k, hit in recall_all if k == kind], seed),
                "tasks": len(hits),
            }
            for kind in kinds
        },
    }
    for metric in ("exact", "similarity"):
        values = {arm: [float(r[arm][metric]) for r in records] for arm in ARMS}
        summary[metric] = {
            **{arm: rate(values[arm], seed) for arm in ARMS},
            "difference": paired_difference(values["with_context"], values["without_context"], seed),
        }
    return summary


def candidate_recall(
    tasks: Sequence[RepoTask], indexes: dict[str, WorkspaceIndex], budget_chars: int, limit: int, seed: int
) -> list[tuple[str, bool]]:
    """Recall on (at most `limit` of) all candidate tasks, with each task's kind: no model, so it can use
    many more tasks."""
    chosen = sample_tasks(list(tasks), limit, seed)
    return [(task.kind, recalled(task, indexes[task.package], budget_chars)[0]) for task in chosen]


def _cell(block: dict[str, Any], percent: bool = True) -> str:
    value = block["rate"] if "rate" in block else block["mean"]
    if value is None:
        return "-"
    low, high = block["interval"]
    return f"{value:.1%} [{low:.1%}, {high:.1%}]" if percent else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    recall, everything = summary["retrieval_recall"], summary["retrieval_recall_all_candidates"]
    lines = [
        f"retrieval recall {_cell(recall)} on {summary['tasks']} tasks; {_cell(everything)} on "
        f"{everything['tasks']} candidate tasks",
        "retrieval recall by kind: "
        + ", ".join(
            f"{kind} {_cell(block)} on {block['tasks']}"
            for kind, block in summary["retrieval_recall_by_kind"].items()
        ),
    ]
    for metric, label, percent in (("exact", "exact match", True), ("similarity", "edit similarity", False)):
        block = summary[metric]
        difference = block["difference"]
        change = (
            "-"
            if difference["mean"] is None
            else f"{difference['mean']:+.3f} [{difference['interval'][0]:+.3f}, {difference['interval'][1]:+.3f}]"
        )
        lines.append(
            f"{label}: with context {_cell(block['with_context'], percent)}, without {_cell(block['without_context'], percent)}, "
            f"difference {change}"
        )
    return lines


def markdown(summary: dict[str, Any], settings: dict[str, Any], plot: str | None) -> str:
    lines = ["# eval repo: cross-file completion", "", *[f"- {line}" for line in summary_lines(summary)], ""]
    lines += [
        "Settings:",
        "",
        "```json",
        msgspec.json.format(msgspec.json.encode(settings)).decode(),
        "```",
        "",
    ]
    if plot:
        lines.append(f"![with and without repository context]({plot})")
    return "\n".join(lines) + "\n"


def write_plot(summary: dict[str, Any], path: Any) -> None:
    from engine.plots import new_figure, save_png_atomic

    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    labels, values, lows, highs = [], [], [], []
    for metric, label in (("exact", "exact match"), ("similarity", "edit similarity")):
        for arm in ARMS:
            block = summary[metric][arm]
            labels.append(f"{label}\n{arm.replace('_', ' ')}")
            values.append(block["rate"] or 0.0)
            lows.append((block["rate"] or 0.0) - block["interval"][0])
            highs.append(block["interval"][1] - (block["rate"] or 0.0))
    recall = summary["retrieval_recall"]
    labels.append("retrieval\nrecall")
    values.append(recall["rate"] or 0.0)
    lows.append((recall["rate"] or 0.0) - recall["interval"][0])
    highs.append(recall["interval"][1] - (recall["rate"] or 0.0))
    axes.bar(range(len(values)), values, yerr=[lows, highs], capsize=4, color=["C0", "C1", "C0", "C1", "C2"])
    axes.set_xticks(range(len(values)), labels, fontsize="small")
    axes.set_ylim(0, 1)
    axes.set_ylabel("rate or mean (95% CI)")
    axes.set_title(f"Cross-file completion, {summary['tasks']} tasks")
    axes.grid(alpha=0.3, axis="y")
    save_png_atomic(figure, path)
