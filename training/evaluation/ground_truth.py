"""Ground truth for pools: every distinct candidate program run against its problem's tests in the sandbox,
once. Verdicts are appended (fsynced) to an execution cache as they arrive, so an interrupted evaluation
resumes where it stopped and a repeated one with other selectors runs nothing again.

Only the evaluation's bookkeeping reads ground truth; selectors never receive it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from training.evaluation.append_log import AppendLog
from training.evaluation.pools import PoolCandidate
from training.problems import Problem


def program_key(tests_digest: str, code: str) -> str:
    return hashlib.sha256(f"{tests_digest}\0{code}".encode()).hexdigest()[:32]


def tests_digest(problem: Problem) -> str:
    """The problem's identity for caching: its task_id and its tests (`mbppplus` and `mbppplus-asserts`
    share task_ids but not tests)."""
    return hashlib.sha256(f"{problem.task_id}\0{problem.tests!r}".encode()).hexdigest()


@dataclass
class ExecutionStats:
    programs: int = 0  # distinct programs
    cached: int = 0  # of them, verdicts already on disk
    passed: int = 0


def ground_truth(
    problems: dict[str, Problem],
    pools: dict[str, list[PoolCandidate]],
    cache: AppendLog,
    workers: int | None = None,
    on_programs: Callable[[int], None] = lambda count: None,
) -> tuple[dict[str, list[bool]], ExecutionStats]:
    """Whether each candidate passes all its problem's tests, aligned with `pools`."""
    from training.verify import verify_many

    keys = {
        task_id: [program_key(digest, c.code) for c in candidates]
        for task_id, candidates in pools.items()
        for digest in [tests_digest(problems[task_id])]
    }
    todo: dict[str, tuple[Problem, str]] = {}
    for task_id, candidates in pools.items():
        for key, candidate in zip(keys[task_id], candidates, strict=True):
            if key not in cache and key not in todo:
                todo[key] = (problems[task_id], candidate.code)
    distinct = {key for row in keys.values() for key in row}
    stats = ExecutionStats(programs=len(distinct), cached=len(distinct) - len(todo))
    on_programs(stats.cached)
    for key, verdict in zip(todo, verify_many(todo.values(), workers=workers, progress=False), strict=True):
        cache.record(key, passed=verdict.passed, status=verdict.status)
        on_programs(1)
    stats.passed = sum(bool(cache.rows[key]["passed"]) for key in distinct)
    truth = {task_id: [bool(cache.rows[key]["passed"]) for key in row] for task_id, row in keys.items()}
    return truth, stats
