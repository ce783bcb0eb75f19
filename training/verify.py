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

from engine.errors import CodescalerError
from training.problems import Problem
from training.progress import ProgressBar
from training.sandbox import isolation as sandbox_isolation
from training.sandbox.compare import shorten, show, stdout_mismatch, values_match
from training.sandbox.expected import reference_outputs
from training.sandbox.harness import plain
from training.sandbox.isolation import Isolation
from training.sandbox.limits import Limits
from training.sandbox.outcome import STATUSES, TestResult, Verdict, from_report, reported, unreported, verdict
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
    """check, asserts and call tests: one sandbox run for all of a candidate's tests."""
    spec = problem.tests
    job: dict[str, Any] = {"mode": spec.kind, "code": code, "timeout_s": limits.timeout_s}
    expected: list[tuple[int, Any]] = []
    if spec.kind == "check":
        job.update(test_code=spec.code, entry_point=problem.entry_point)
        count = 1
    elif spec.kind == "asserts":
        job.update(setup=spec.setup, asserts=list(spec.asserts))
        count = len(spec.asserts)
    else:
        expected = _expected(problem, limits, isolation, cache_dir)
        job.update(fn_name=spec.fn_name, inputs=[spec.cases[index]["input"] for index, _ in expected])
        count = len(expected)
    if count == 0:
        raise CodescalerError(f"{problem.task_id}: the problem has no tests")
    budget = min(limits.total_timeout_s, limits.timeout_s * (count + 1))
    run = run_job(job, limits, budget, isolation, tests=count)
    syntax_error = run.event("syntax_error")
    if syntax_error is not None:
        return [], syntax_error["detail"]
    reports = reported(run)
    missing = unreported(run, limits)
    tests = []
    for index in range(count):
        event = reports.get(index)
        if event is None:
            tests.append(missing)
        elif spec.kind == "call" and event["status"] == "ok":
            case_index, value = expected[index]
            tests.append(_compare_call(problem, spec.cases[case_index], value, event))
        else:
            tests.append(from_report(event))
    return tests, None


def _expected(
    problem: Problem, limits: Limits, isolation: Isolation, cache_dir: Path | None
) -> list[tuple[int, Any]]:
    """(case index, expected plain value) for each case with an expected output: the dataset's, else the
    reference's. Cases the reference fails on are left out, as EvalPlus does, with a warning."""
    spec = problem.tests
    computed = None
    if any("output" not in case for case in spec.cases):
        if not spec.reference.strip():
            raise CodescalerError(f"{problem.task_id}: cases without 'output' need a reference solution")
        computed = reference_outputs(spec, limits, isolation, cache_dir)
    expected, errors = [], []
    for index, case in enumerate(spec.cases):
        if "output" in case:
            expected.append((index, plain(case["output"])))
        elif computed is not None and "value" in computed[index]:
            expected.append((index, computed[index]["value"]))
        elif computed is not None:
            errors.append(computed[index]["error"])
    if errors and not expected:
        raise CodescalerError(f"{problem.task_id}: the reference solution fails on every input ({errors[0]})")
    if errors:
        log.warning(
            "%s: %d of %d inputs left out: the reference fails on them (%s)",
            problem.task_id,
            len(errors),
            len(spec.cases),
            errors[0],
        )
    return expected


def _compare_call(problem: Problem, case: dict[str, Any], want: Any, event: dict[str, Any]) -> TestResult:
    spec = problem.tests
    got = event["value"]
    atol = spec.atol
    if atol == 0 and "output" not in case and _has_float(want):  # computed from the reference: EvalPlus
        atol = EVALPLUS_FLOAT_ATOL
    oracle = problem.metadata.get("evalplus_oracle")
    if _oracle_accepts(oracle, want, got) or values_match(want, got, atol):
        return TestResult("passed", "", event["duration_s"])
    call = shorten(f"{spec.fn_name}({', '.join(show(plain(arg)) for arg in case['input'])})")
    return TestResult(
        "wrong_answer", f"{call} returned {show(got)}, expected {show(want)}", event["duration_s"]
    )


def _oracle_accepts(oracle: str | None, want: Any, got: Any) -> bool:
    """EvalPlus's special cases for MBPP+ tasks whose correct results differ (evalplus/eval/__init__.py)."""
    if oracle == "any output":
        return True
    if oracle == "output is not None":
        return got == want if isinstance(got, bool) else want == (got is not None)
    if oracle == "output equals the reference's, or 0":
        return got == 0 and not isinstance(got, bool)
    return False


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, list) and any(_has_float(item) for item in value)


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
        syntax_error = run.event("syntax_error")
        if syntax_error is not None:
            return [], syntax_error["detail"]
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
    if event is not None and event["status"] != "ok":
        return from_report(event)
    # Reported "ok", or exited with status 0 without reporting (os._exit(0) after printing): judge the output.
    seconds = event["duration_s"] if event is not None else run.duration_s
    mismatch = stdout_mismatch(expected, run.stdout.decode("utf-8", errors="replace"), atol)
    if mismatch is None:
        return TestResult("passed", "", seconds)
    return TestResult("wrong_answer", mismatch, seconds)
