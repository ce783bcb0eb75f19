"""Does the reward model prefer the right fill at the editor's cursor? Pairwise accuracy on
HumanEval-Infilling, apart from any policy.

For each task the cursor is where an editor user would ask for the gap (`InfillingTask.context`). The
right fill is the benchmark's own middle; the wrong ones are one-edit mutants of it, edited in place
inside the middle (`training/variants.site_mutants`: a comparison, constant, arithmetic or boolean
operator, slice bound or call changed), kept only when they leave the document's syntax valid (the
editor shows nothing else) and when the sandbox shows the completed program failing the tests (a mutant
that still passes is an equivalent program, not a wrong one). Both fills are scored through
`editor_reward_pair`, exactly as the editor scores candidates, and a pair is a hit when the right fill
scores strictly higher. HumanEval was never used to train the bundled models.

Building the pairs runs the sandbox; it is logged per task (`pairs.jsonl` under `--out`, resumable) and
scoring, which is quick, runs after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.document import Completion
from engine.editor_reward_input import editor_reward_pair
from engine.syntax.insertion import ParsedDocument
from training.evaluation.append_log import AppendLog
from training.evaluation.infilling import InfillingTask, Verifier, program
from training.evaluation.rm_accuracy import bootstrap_interval
from training.progress import ProgressBar
from training.sampling import problem_seed


def _fill(task: InfillingTask, middle: str) -> str:
    """The text an editor inserts for `middle`: a whole-line gap's own line break is the document's."""
    return middle[:-1] if task.whole_lines and middle.endswith("\n") else middle


def candidate_fills(task: InfillingTask, seed: int, per_task: int) -> tuple[str, list[tuple[str, str]], int]:
    """The right fill, the mutant fills (fill, kind) that keep the syntax valid, and how many were invalid."""
    from training.variants import site_mutants

    source = task.prompt + task.canonical_solution + task.suffix
    start, end = len(task.prompt), len(task.prompt) + len(task.canonical_solution)
    document = ParsedDocument.parse(task.context())
    mutants, invalid = [], 0
    for mutant, kind in site_mutants(source, start, end, seed, per_task):
        text = _fill(task, mutant[start : len(mutant) - len(task.suffix)])
        if document.check(Completion(text)).valid:
            mutants.append((text, kind))
        else:
            invalid += 1
    return _fill(task, task.canonical_solution), mutants, invalid


def build_pairs(
    tasks: Sequence[InfillingTask],
    seed: int,
    per_task: int,
    verify: Verifier,
    log: AppendLog | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One record per task: the right fill, whether its program passes, and each valid mutant fill with
    its kind and whether its program failed (only failing ones make pairs)."""
    done = log.rows if log is not None else {}
    records = []
    with ProgressBar(len(tasks), "mutant pairs", "task", progress) as bar:
        for task in tasks:
            if task.task_id in done:
                records.append(done[task.task_id])
                bar.update()
                continue
            right, mutants, invalid = candidate_fills(task, problem_seed(seed, task.task_id), per_task)
            programs = [program(task, right)] + [program(task, text) for text, _ in mutants]
            verdicts = verify(task.problem(), programs)
            record = {
                "task_id": task.task_id,
                "right": right,
                "right_passed": verdicts[0].passed,
                "mutants": [
                    {"fill": text, "kind": kind, "failed": not verdict.passed, "status": verdict.status}
                    for (text, kind), verdict in zip(mutants, verdicts[1:], strict=True)
                ],
                "invalid_mutants": invalid,
            }
            if log is not None:
                log.record(task.task_id, **record)
            records.append(record)
            bar.update()
    return records


def _accuracy(hits: Sequence[float], seed: int) -> dict[str, Any]:
    return {
        "pairs": len(hits),
        "accuracy": sum(hits) / len(hits) if hits else None,
        "interval": list(bootstrap_interval(hits, seed)),
    }


def accuracy_report(
    scorer: Any, tasks: Sequence[InfillingTask], records: Sequence[dict[str, Any]], seed: int = 0
) -> dict[str, Any]:
    """Pairwise accuracy (ties are misses) with a 95% bootstrap interval, overall and by mutant kind."""
    by_id = {task.task_id: task for task in tasks}
    pairs = []  # (task, right fill, mutant fill, kind)
    for record in records:
        if record["right_passed"]:
            task = by_id[record["task_id"]]
            pairs += [(task, record["right"], m["fill"], m["kind"]) for m in record["mutants"] if m["failed"]]
    inputs = list(dict.fromkeys(
        editor_reward_pair(task.context(), Completion(text)) for task, right, wrong, _ in pairs for text in (right, wrong)
    ))  # fmt: skip
    scores = dict(zip(inputs, scorer.score(inputs), strict=True)) if inputs else {}

    def score(task: InfillingTask, text: str) -> float:
        return scores[editor_reward_pair(task.context(), Completion(text))]

    hits = [(kind, float(score(task, right) > score(task, wrong))) for task, right, wrong, kind in pairs]
    kinds = sorted({kind for kind, _ in hits})
    mutants = [m for record in records for m in record["mutants"]]
    return {
        **_accuracy([hit for _, hit in hits], seed),
        "by_kind": {kind: _accuracy([hit for k, hit in hits if k == kind], seed) for kind in kinds},
        "tasks": len(records),
        "tasks_with_pairs": len({task.task_id for task, *_ in pairs}),
        "tasks_whose_reference_fails": sum(not record["right_passed"] for record in records),
        "mutants_valid": len(mutants),
        "mutants_invalid": sum(record["invalid_mutants"] for record in records),
        "mutants_still_passing": sum(not m["failed"] for m in mutants),
    }


def summary_line(label: str, report: dict[str, Any]) -> str:
    if report["accuracy"] is None:
        return f"completion pairs ({label}): no pair could be built ({report['tasks']} tasks)"
    low, high = report["interval"]
    kinds = ", ".join(
        f"{kind} {value['accuracy']:.3f} ({value['pairs']})" for kind, value in report["by_kind"].items()
    )
    return (
        f"completion pairs ({label}): right fill over a failing one-edit mutant {report['accuracy']:.3f} "
        f"[{low:.3f}, {high:.3f}] on {report['pairs']} pairs from {report['tasks_with_pairs']} tasks; by kind: {kinds}"
    )


def markdown(label: str, reward_model: str, report: dict[str, Any]) -> str:
    rows = ["| mutant kind | pairs | accuracy | 95% interval |", "|---|---|---|---|"]
    for kind, value in [("all", report), *report["by_kind"].items()]:
        if value["accuracy"] is None:
            continue
        low, high = value["interval"]
        rows.append(f"| {kind} | {value['pairs']} | {value['accuracy']:.3f} | [{low:.3f}, {high:.3f}] |")
    return "\n".join([
        f"# Reward model `{reward_model}` on HumanEval-Infilling completion pairs ({label})",
        "",
        "Each pair: the benchmark's own middle against a one-edit mutant of it at the same cursor, the "
        "mutant's program failing the tests in the sandbox; both scored through the editor reward input. "
        "A hit is the right fill scoring strictly higher; 0.5 is a coin.",
        "",
        *rows,
        "",
        f"{report['tasks']} tasks, {report['tasks_with_pairs']} with pairs; "
        f"{report['tasks_whose_reference_fails']} whose own middle fails; mutants: {report['mutants_valid']} valid, "
        f"{report['mutants_invalid']} breaking the syntax (left out), {report['mutants_still_passing']} still "
        "passing (equivalent, left out).",
        "",
    ])  # fmt: skip
