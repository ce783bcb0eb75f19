"""Pools of candidate programs per problem: read from a JSONL of existing samples, or sampled from a policy
through the engine (and saved in the same format, so a run can be repeated with `--pool`).

Pool rows (docs/evaluation.md): `task_id` and one of `code` (a complete program), `completion` (HumanEval's
samples format: appended to the problem's prompt) or `response` (a full model answer; code is extracted by
the reference rule); optional `logprobs` (the sampled tokens' log-probabilities) or `mean_logprob`, and
`metadata`. A bad row (broken JSON, an unknown task_id, no code) is reported with its line number and skipped, never fatal: one broken line in a
10,000-sample file should not cost the other 9,999.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.generation.base import Generator
from engine.syntax.extraction import extract_code
from training.problems import Problem
from training.sampling import SamplingSettings, sample_programs

_IMPORT = re.compile(r"^(?:from\s+\S+\s+)?import\s+\S.*$", re.MULTILINE)


@dataclass(frozen=True)
class PoolCandidate:
    code: str
    mean_logprob: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def with_prompt_imports(question: str, code: str) -> str:
    """`code` with the prompt's top-level imports it lacks put first. Chat models answering a HumanEval-style
    prompt often leave out `from typing import List`, which the prompt already had; EvalPlus adds them the
    same way, so correct programs are not failed for a line the prompt gave them."""
    missing = [line.strip() for line in _IMPORT.findall(question) if line.strip() not in code]
    return "\n".join([*missing, code]) if missing and code.strip() else code


def read_pool(
    path: Path, problems: dict[str, Problem]
) -> tuple[dict[str, list[PoolCandidate]], list[BadRow]]:
    """Candidates per task_id, in file order, and the rows that could not be used."""
    pools: dict[str, list[PoolCandidate]] = {}
    bad: list[BadRow] = []
    try:
        handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise CodescalerError(f"cannot read the pool {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                task_id, candidate = _candidate(line, problems)
            except ValueError as exc:
                bad.append(BadRow(number, str(exc)))
                continue
            pools.setdefault(task_id, []).append(candidate)
    return pools, bad


def _candidate(line: str, problems: dict[str, Problem]) -> tuple[str, PoolCandidate]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    task_id = row.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise ValueError("missing 'task_id'")
    if task_id not in problems:
        raise ValueError(f"unknown task_id {task_id!r} (not among the loaded problems)")
    problem = problems[task_id]
    code = _code(row, problem)
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("'metadata' must be an object")
    return task_id, PoolCandidate(with_prompt_imports(problem.question, code), _mean_logprob(row), metadata)


def _code(row: dict[str, Any], problem: Problem) -> str:
    """The program a row stands for. A `response` without a code block is a candidate all the same (the
    policy answered without code, and that answer fails); a row with none of the fields is not."""
    for name in ("code", "completion", "response"):
        if row.get(name) is not None and not isinstance(row[name], str):
            raise ValueError(f"'{name}' must be a string, got {type(row[name]).__name__}")
    if (row.get("code") or "").strip():
        return row["code"]
    if (row.get("completion") or "").strip():
        return problem.question + row["completion"]
    if row.get("response") is not None:
        return extract_code(row["response"]).code
    raise ValueError("no code: give 'code', 'completion' or 'response'")


def _mean_logprob(row: dict[str, Any]) -> float | None:
    if "mean_logprob" in row and row["mean_logprob"] is not None:
        value = row["mean_logprob"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("'mean_logprob' must be a number")
        return float(value)
    logprobs = row.get("logprobs")
    if logprobs is None:
        return None
    if not isinstance(logprobs, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in logprobs
    ):
        raise ValueError("'logprobs' must be a list of numbers")
    return sum(logprobs) / len(logprobs) if logprobs else None


def generate_pool(
    problems: dict[str, Problem],
    generator: Generator,
    path: Path,
    settings: SamplingSettings,
    seed_for: Callable[[int, str], int],
    on_problem: Callable[[], None] = lambda: None,
) -> None:
    """Sample `settings.n` programs per problem into `path` (pool rows), resuming: problems whose rows are
    all there are not sampled again; a problem cut off mid-write (a torn last line) is sampled again with
    its own seed, and only the complete rows are kept."""
    done = _complete_problems(path, settings.n)
    with open(path, "a", encoding="utf-8") as out:
        for task_id, problem in problems.items():
            if task_id not in done:
                seed = seed_for(settings.seed, task_id)
                samples = sample_programs(generator, problem.question, settings, seed)
                rows = [
                    {"task_id": task_id, "sample": i, "code": s.code, "response": s.response,
                     "mean_logprob": s.mean_logprob, "metadata": {"seed": seed, "finish_reason": s.finish_reason}}
                    for i, s in enumerate(samples)
                ]  # fmt: skip
                out.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
                out.flush()
                os.fsync(out.fileno())
            on_problem()


def _complete_problems(path: Path, n: int) -> set[str]:
    """Problems with all `n` samples on disk. A problem's rows go out in one write, so only the last
    problem in the file can be incomplete (a killed run): its rows are cut off, to be sampled again."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    keep = data[: data.rfind(b"\n") + 1]  # a torn last line is dropped
    counts: dict[str, int] = {}
    last, last_start, offset = None, 0, 0
    for line in keep.splitlines(keepends=True):
        try:
            task_id = json.loads(line)["task_id"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            task_id = None
        if task_id != last:
            last, last_start = task_id, offset
        counts[task_id] = counts.get(task_id, 0) + 1
        offset += len(line)
    if last is not None and counts[last] < n:
        keep = keep[:last_start]
        del counts[last]
    if len(keep) != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(len(keep))
    return {task_id for task_id, count in counts.items() if task_id is not None and count >= n}
