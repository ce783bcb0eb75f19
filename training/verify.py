"""Verify candidate programs against a problem's tests, each in a fresh sandbox (training/sandbox).

    from training.verify import Limits, verify, verify_many
    verdict = verify(problem, code)                       # one candidate
    for verdict in verify_many(pairs, workers=8):         # (problem, code) pairs, parallel, in input order
        print(verdict.to_row())

Each test style runs as its datasets' own harnesses run it: `check` calls HumanEval's check(candidate),
`asserts` runs MBPP's asserts one by one, `call` calls the function (or `Solution().method`) on each input
and compares the value returned with the expected output (computed from the reference when missing), and
`stdio` runs the program once per case with the case's standard input and compares what it prints.
docs/sandbox.md has the isolation, the limits and the statuses.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from training.problems import Problem
from training.progress import ProgressBar
from training.sandbox import isolation as sandbox_isolation
from training.sandbox.calls import run_calls, run_judge
from training.sandbox.compare import stdout_mismatch
from training.sandbox.isolation import Isolation
from training.sandbox.judging import judged_here
from training.sandbox.limits import Limits
from training.sandbox.outcome import STATUSES, TestResult, Verdict, from_report, reported, unreported, verdict
from training.sandbox.plan import replay_units, test_plan
from training.sandbox.runner import Run, run_job

__all__ = ["STATUSES", "Limits", "TestResult", "Verdict", "verify", "verify_many"]

log = logging.getLogger(__name__)
EVALPLUS_FLOAT_ATOL = 1e-6  # EvalPlus compares float results with this tolerance when a task sets none


def verify(
    problem: Problem, code: str, limits: Limits | None = None, cache_dir: Path | None = None
) -> Verdict:
    """Run `code` (a complete program) against `problem`'s tests in the sandbox. `cache_dir` keeps the
    expected outputs computed from reference solutions across processes."""
    limits = limits or Limits()
    start = time.monotonic()
    isolation = sandbox_isolation.current()
    if problem.tests.kind == "stdio":
        tests, syntax_error = _stdio(problem, code, limits, isolation)
    else:
        tests, syntax_error = _in_one_run(problem, code, limits, isolation, cache_dir)
    return verdict(problem.task_id, tests, syntax_error, time.monotonic() - start)


def verify_many(
    pairs: Iterable[tuple[Problem, str]],
    limits: Limits | None = None,
    workers: int | None = None,
    progress: bool = True,
    cache_dir: Path | None = None,
) -> Iterator[Verdict]:
    """Verdicts for (problem, code) pairs, in input order, `workers` sandboxes at a time (default: one per
    CPU). Threads are enough: each sandbox is a separate process. The progress bar (tqdm, on stderr) shows
    only when `progress` is set and stderr is a terminal."""
    pairs = list(pairs)
    bar = ProgressBar(len(pairs), "verify", "program", progress)
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="verify")
    try:
        futures = [pool.submit(verify, problem, code, limits, cache_dir) for problem, code in pairs]
        for future in futures:
            future.add_done_callback(lambda _: bar.update())
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def _in_one_run(
    problem: Problem, code: str, limits: Limits, isolation: Isolation, cache_dir: Path | None
) -> tuple[list[TestResult], str | None]:
    """check, asserts and call tests: the candidate is called on every test's arguments in one sandbox run
    and only its values come back; the tests are judged here, or by a judge run for scripted tests."""
    plan = test_plan(problem, limits, isolation, cache_dir)
    calls, groups = plan.groups()
    run = run_calls(code, calls, groups, limits, isolation)
    if run.syntax_error is not None:
        return [], run.syntax_error
    results: list[TestResult | None] = []
    to_judge: dict[int, tuple[Any, ...]] = {}
    for index, (test, group) in enumerate(zip(plan.tests, groups, strict=True)):
        returned = [run.returned[i] for i in group]
        try:
            result = judged_here(problem, test, returned)
        except Exception as exc:  # a value the judge cannot handle is the candidate's failure, never a crash
            log.warning("%s: the judge could not compare a returned value (%s: %s)", problem.task_id,
                        type(exc).__name__, exc)  # fmt: skip
            result = TestResult(
                "wrong_answer", f"returned a value the judge cannot compare ({type(exc).__name__})"
            )
        if result is None:  # a scripted test whose values differ from the reference's: replay it
            to_judge[index] = tuple(r.encoded for r in returned)
        results.append(result)
    if to_judge:
        verdicts = run_judge(
            plan.reference, plan.judge_code, plan.entry_point, replay_units(plan, to_judge), limits, isolation
        )
        for index in to_judge:
            seconds = sum(run.returned[i].duration_s for i in groups[index])
            verdict = verdicts[plan.tests[index].rule.unit["id"]]  # type: ignore[union-attr]
            results[index] = TestResult(verdict.status, verdict.detail, seconds)
    return [result for result in results if result is not None], None


def _stdio(
    problem: Problem, code: str, limits: Limits, isolation: Isolation
) -> tuple[list[TestResult], str | None]:
    """One sandbox run per case. After a timeout, or once the total time is spent, the remaining cases
    are not run (they are timeouts): a looping program must not cost its time once per case."""
    tests: list[TestResult] = []
    spent = 0.0
    skipped = None
    for case in problem.tests.cases:
        budget = min(limits.timeout_s, limits.total_timeout_s - spent)
        if skipped is None and budget <= 0:
            skipped = TestResult("timeout", "not run: the candidate's total time ran out")
        if skipped is not None:
            tests.append(skipped)
            continue
        job = {"mode": "stdio", "code": code, "timeout_s": budget}
        run = run_job(job, limits, budget, isolation, stdin=case["input"].encode())
        syntax_error = run.syntax_error()
        if syntax_error is not None:
            return [], syntax_error
        spent += run.duration_s
        result = _stdio_result(run, case["output"], problem.tests.atol, limits)
        tests.append(result)
        if result.status == "timeout":
            skipped = TestResult("timeout", "not run: an earlier test timed out")
    return tests, None


def _stdio_result(run: Run, expected: str, atol: float, limits: Limits) -> TestResult:
    event = reported(run).get(0)
    if run.output_capped or run.timed_out or (event is None and (run.signal or run.exit_code)):
        return unreported(run, limits)
    if event is not None and event.get("status") != "ok":
        return from_report(event)
    # Reported "ok", or exited with status 0 without reporting (os._exit(0) after printing): judge the output.
    seconds = event.get("duration_s") if event is not None else None
    seconds = seconds if type(seconds) is float else run.duration_s
    mismatch = stdout_mismatch(expected, run.stdout.decode("utf-8", errors="replace"), atol)
    if mismatch is None:
        return TestResult("passed", "", seconds)
    return TestResult("wrong_answer", mismatch, seconds)
