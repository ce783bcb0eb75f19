"""Best-of-N selection compared across selectors on the same pools (`codescaler eval bon`).

The run: ground truth for every candidate (sandbox, cached); then each selector chooses for each problem,
timed from "candidates in hand" to "choice made" (execution included where the selector runs code), with
its answer cached; then, per selector, the expected accuracy of its pick from N candidates drawn from the
pool, exactly, for every N up to the pool size, and the whole-pool accuracy with a bootstrap interval over
problems. `oracle` (some candidate passes) comes from ground truth alone and is the ceiling.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.evaluation.append_log import AppendLog
from training.evaluation.findings import findings
from training.evaluation.ground_truth import ground_truth
from training.evaluation.pools import BadRow, PoolCandidate
from training.evaluation.rm_accuracy import bootstrap_interval
from training.evaluation.selection import Selection, SelectionTask, Selector, expected_accuracy
from training.evaluation.selection_math import pass_at_k
from training.problems import Problem
from training.progress import ProgressBar


@dataclass(frozen=True)
class BonSetup:
    problems: str  # what --problems was
    pool: str  # the pool file, or the policy that sampled it
    reward_model: str | None
    seed: int = 0
    workers: int | None = None
    progress: bool = True


@dataclass
class _PerProblem:
    curve: list[tuple[float, str]]  # expected accuracy and method, for N = 1..pool size
    latency_s: float
    no_signal: bool


def evaluate_bon(
    problems: dict[str, Problem],
    pools: dict[str, list[PoolCandidate]],
    selectors: list[Selector],
    out: Path,
    setup: BonSetup,
    bad_rows: Iterable[BadRow] = (),
    skipped: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The report (see docs/evaluation.md); caches go to `out`."""
    with_candidates = {task_id: pools[task_id] for task_id in problems if pools.get(task_id)}
    missing = [task_id for task_id in problems if not pools.get(task_id)]
    total = len({(t, c.code) for t, cs in with_candidates.items() for c in cs})
    with ProgressBar(total, "ground truth", "program", setup.progress) as bar:
        truth, stats = ground_truth(
            problems, with_candidates, AppendLog(out / "executions.jsonl"), setup.workers, bar.update
        )
    log = AppendLog(out / "selections.jsonl")
    results: dict[str, dict[str, _PerProblem]] = {}
    for selector in selectors:
        with ProgressBar(len(with_candidates), selector.name, "problem", setup.progress) as bar:
            results[selector.name] = {}
            for task_id, candidates in with_candidates.items():
                selection, latency = _select(selector, problems[task_id], candidates, log)
                curve = [
                    expected_accuracy(selection, truth[task_id], n, f"{setup.seed}:{selector.name}:{task_id}")
                    for n in range(1, len(candidates) + 1)
                ]
                results[selector.name][task_id] = _PerProblem(curve, latency, selection.no_signal)
                bar.update()
    random_hits = {t: sum(truth[t]) / len(truth[t]) for t in with_candidates}
    report_selectors: dict[str, Any] = {}
    for selector in selectors:
        report_selectors[selector.name] = _summary(
            results[selector.name], random_hits, setup.seed, selector.executes, selector.note
        )
    report_selectors["oracle"] = _oracle(truth, random_hits, setup.seed)
    sizes = [len(c) for c in with_candidates.values()]
    bad = list(bad_rows)
    report = {
        "problems": setup.problems,
        "pool": setup.pool,
        "reward_model": setup.reward_model,
        "seed": setup.seed,
        "n_problems": len(with_candidates),
        "pool_size": {"min": min(sizes), "max": max(sizes), "mean": sum(sizes) / len(sizes)}
        if sizes
        else None,
        "selectors": report_selectors,
        "skipped_selectors": dict(skipped or {}),
        "bad_rows": {"count": len(bad), "rows": [asdict(row) for row in bad]},
        "problems_without_candidates": missing,
        "executions": asdict(stats),
    }
    report["findings"] = findings(report)
    return report


def _select(
    selector: Selector, problem: Problem, candidates: list[PoolCandidate], log: AppendLog
) -> tuple[Selection, float]:
    """The selector's answer and its latency, from the cache when this selector already answered for
    exactly these candidates."""
    task = SelectionTask(problem.task_id, problem.question, problem.entry_point, tuple(candidates))
    identity = json.dumps([selector.fingerprint, problem.task_id, problem.question, [c.code for c in candidates],
                           [c.mean_logprob for c in candidates]])  # fmt: skip
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    if key in log:
        row = log.rows[key]
        return Selection.from_row(row["selection"]), float(row["latency_s"])
    start = time.perf_counter()
    selection = selector.select(task)
    latency = time.perf_counter() - start
    log.record(
        key, selector=selector.name, task_id=problem.task_id, selection=selection.to_row(), latency_s=latency
    )
    return selection, latency


def _summary(
    per_problem: dict[str, _PerProblem], random_hits: dict[str, float], seed: int, executes: bool, note: str
) -> dict[str, Any]:
    hits = [p.curve[-1][0] for p in per_problem.values()]
    differences = [p.curve[-1][0] - random_hits[t] for t, p in per_problem.items()]
    latencies = [p.latency_s for p in per_problem.values()]
    return {
        "accuracy": _mean(hits),
        "interval": list(bootstrap_interval(hits, seed)),
        "vs_random": {
            "difference": _mean(differences),
            "interval": list(bootstrap_interval(differences, seed)),
        },
        "curve": _curve([p.curve for p in per_problem.values()]),
        "latency_s": _latency(latencies),
        "executes": executes,
        "no_signal": sum(p.no_signal for p in per_problem.values()),
        "note": note,
    }


def _oracle(truth: dict[str, list[bool]], random_hits: dict[str, float], seed: int) -> dict[str, Any]:
    """The ceiling as one more row: pass@N for the curve (at the whole pool: some candidate passes)."""
    per_problem = {
        task_id: _PerProblem(
            [(pass_at_k(len(c), sum(c), n), "exact") for n in range(1, len(c) + 1)], 0.0, False
        )
        for task_id, c in truth.items()
    }
    note = "some candidate passes the hidden tests (the ceiling; needs the answers)"
    return _summary(per_problem, random_hits, seed, True, note)


def _curve(curves: list[list[tuple[float, str]]]) -> list[dict[str, Any]]:
    """Per N, the mean over problems whose pool has at least N candidates."""
    points = []
    for n in range(1, max((len(c) for c in curves), default=0) + 1):
        values = [c[n - 1] for c in curves if len(c) >= n]
        method = "sampled" if any(m == "sampled" for _, m in values) else "exact"
        points.append(
            {"n": n, "accuracy": _mean([v for v, _ in values]), "problems": len(values), "method": method}
        )
    return points


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"mean": statistics.fmean(values), "p50": statistics.median(values), "p95": p95}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
