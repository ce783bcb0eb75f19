"""From sandbox runs to results: the statuses, and what happened to tests that never reported.

A test passes only on a report from the harness (or, for stdio, on matching output of a program that
exited normally). Everything else is a failure with the most specific status the run allows: the harness's
own label (wrong answer, runtime error, memory, timeout), else how the run ended (the wall-clock deadline,
the output cap, a signal, an exit before reporting).
"""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass
from typing import Any

from training.sandbox.limits import Limits
from training.sandbox.runner import Run

STATUSES = ("passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "killed")
FAILURES = ("wrong_answer", "runtime_error", "timeout", "memory", "killed")
_CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}
_OUT_OF_MEMORY = (b"MemoryError", b"Cannot allocate memory", b"std::bad_alloc", b"out of memory")


@dataclass(frozen=True)
class TestResult:
    """One test: its status (one of STATUSES) and why, in one short line."""

    status: str
    detail: str = ""
    duration_s: float = 0.0

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Verdict:
    """A candidate against all tests of its problem. `status` is "passed" when every test passed, else
    the status of the first test that did not ("syntax_error", with no tests, when it does not compile)."""

    task_id: str
    status: str
    tests: tuple[TestResult, ...]
    detail: str = ""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_row(self) -> dict[str, Any]:
        """The JSON object `codescaler verify` writes for this verdict."""
        return {
            "task_id": self.task_id,
            "passed": self.passed,
            "status": self.status,
            "detail": self.detail,
            "tests": [{**asdict(test), "duration_s": round(test.duration_s, 4)} for test in self.tests],
            "duration_s": round(self.duration_s, 3),
        }


def verdict(task_id: str, tests: list[TestResult], syntax_error: str | None, duration_s: float) -> Verdict:
    if syntax_error is not None:
        return Verdict(task_id, "syntax_error", (), syntax_error, duration_s)
    for number, test in enumerate(tests, start=1):
        if test.status != "passed":
            return Verdict(task_id, test.status, tuple(tests), f"test {number}: {test.detail}", duration_s)
    return Verdict(task_id, "passed", tuple(tests), "", duration_s)


def reported(run: Run, name: str = "test") -> dict[int, dict[str, Any]]:
    """The harness's reports named `name` by index (a repeated index keeps the first)."""
    tests: dict[int, dict[str, Any]] = {}
    for event in run.events:
        if event.get("event") == name and type(event.get("index")) is int:
            tests.setdefault(event["index"], event)
    return tests


def from_report(event: dict[str, Any], trusted: bool = False) -> TestResult:
    """A failure reported from a run, with its status and detail. Reports of runs that hold candidate code
    can be forged by it, so they only ever yield a failure: a status that is not one ("passed", "ok", an
    unknown word) becomes runtime_error. Only a `trusted` report (the judge's, which runs no candidate
    code) may say "passed". A value outside the plain-data rules is a wrong answer."""
    status = event.get("status")
    if status == "not_plain":
        status = "wrong_answer"
    if status not in (STATUSES if trusted else FAILURES):
        status = "runtime_error"
    seconds = event.get("duration_s")
    return TestResult(status, str(event.get("detail", ""))[:500], seconds if type(seconds) is float else 0.0)


def unreported(run: Run, limits: Limits) -> TestResult:
    """The result of every test the run did not report."""
    load_error = run.event("load_error")
    if load_error is not None:
        return from_report(load_error)
    if any(event.get("status") == "timeout" for event in run.events):
        return TestResult("timeout", "not run: an earlier test timed out")
    if run.output_capped:
        return TestResult("killed", f"the output exceeded {limits.output_bytes} bytes")
    if run.out_of_memory:
        return TestResult("memory", f"its processes used more than {limits.memory_mb} MiB of memory together")
    if run.timed_out:
        return TestResult("timeout", f"the run was killed after {run.duration_s:.1f}s")
    if run.signal is not None:
        return _signalled(run)
    return TestResult(
        "runtime_error", f"the program exited (status {run.exit_code}) before its tests reported"
    )


def _signalled(run: Run) -> TestResult:
    number = run.signal
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if any(text in run.stderr for text in _OUT_OF_MEMORY):
        return TestResult("memory", f"out of memory ({name})")
    if number == signal.SIGXCPU:
        return TestResult("timeout", "CPU time limit exceeded (SIGXCPU)")
    if number in _CRASHES:
        return TestResult("runtime_error", f"the program crashed ({name})")
    return TestResult("killed", f"killed by {name}")
