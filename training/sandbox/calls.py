"""The two kinds of sandbox runs behind every function-call verdict, and what their reports mean.

`run_calls` runs a program (a candidate, or a reference computing expected values) on a list of calls and
returns, per call, the plain value it returned (decoded here, so a forged report can only carry plain
data) or how it failed. `run_judge` replays scripted tests on a candidate's values in a run that holds the
reference and the test code and no candidate code.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from training.sandbox.harness import NotPlain, decode
from training.sandbox.limits import Limits
from training.sandbox.outcome import TestResult, from_report, reported, unreported
from training.sandbox.runner import Run, run_job

if TYPE_CHECKING:
    from training.sandbox.isolation import Isolation


@dataclass(frozen=True)
class Call:
    """`fn(*args, **kwargs)` on plain arguments. `reduce` names what of the result is reported
    (harness._REDUCE: "" the value, "not_none" a bool or whether it is not None, "returned" nothing)."""

    fn: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    reduce: str = ""


@dataclass(frozen=True)
class Returned:
    """What one call gave: its plain value when `error` is None, else the failure (status, detail)."""

    value: Any = None
    error: TestResult | None = None
    encoded: Any = None  # the value as reported (plain data), for replays and caches
    duration_s: float = 0.0


@dataclass(frozen=True)
class CallsRun:
    returned: tuple[Returned, ...]
    syntax_error: str | None
    complete: bool  # every call reported, none timed out: the values may be cached


def run_calls(
    code: str, calls: list[Call], groups: list[list[int]], limits: Limits, isolation: Isolation
) -> CallsRun:
    """Run `code` on `calls` in one sandbox; each group of call indices shares one `timeout_s` (a HumanEval
    check is one group, each MBPP assert or call case another). The budget is the usual one per group."""
    budget = min(limits.total_timeout_s, limits.timeout_s * (len(groups) + 1))
    job = {
        "mode": "calls",
        "code": code,
        "calls": [
            {"fn": c.fn, "args": pickle.dumps((list(c.args), c.kwargs)), "reduce": c.reduce} for c in calls
        ],
        "groups": groups,
        "timeout_s": limits.timeout_s,
    }
    run = run_job(job, limits, budget, isolation, tests=len(calls))
    syntax_error = run.syntax_error()
    if syntax_error is not None:
        return CallsRun((), syntax_error, True)
    reports = _call_reports(run)
    missing = unreported(run, limits)
    returned = tuple(_returned(reports.get(index), missing) for index in range(len(calls)))
    complete = len(reports) == len(calls) and not any(r.get("status") == "timeout" for r in reports.values())
    return CallsRun(returned, None, complete)


def _call_reports(run: Run) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for event in run.events:
        if event.get("event") == "call" and type(event.get("index")) is int:
            calls.setdefault(event["index"], event)
    return calls


def _returned(event: dict[str, Any] | None, missing: TestResult) -> Returned:
    if event is None:
        return Returned(error=missing)
    seconds = event.get("duration_s") if type(event.get("duration_s")) is float else 0.0
    if event.get("status") != "ok":
        return Returned(error=from_report(event), duration_s=seconds)
    try:
        return Returned(decode(event.get("value")), None, event.get("value"), seconds)
    except (NotPlain, RecursionError) as exc:
        return Returned(error=TestResult("wrong_answer", f"returned data that could not be read ({exc})"))


def run_judge(
    reference: str,
    test_code: str,
    entry_point: str,
    units: list[dict[str, Any]],
    limits: Limits,
    isolation: Isolation,
) -> dict[int, TestResult]:
    """Replay scripted tests (`units`: id, kind, source, record, replay) on recorded values; the verdict of
    each, by unit id. Values reach the judge as plain data and come back to the test as fresh built-ins."""
    budget = min(limits.total_timeout_s, limits.timeout_s * (len(units) + 1))
    job = {
        "mode": "judge",
        "code": "",
        "reference": reference,
        "test_code": test_code,
        "entry_point": entry_point,
        "units": units,
        "timeout_s": limits.timeout_s,
    }
    run = run_job(job, limits, budget, isolation, tests=len(units))
    verdicts = {index: from_report(event, trusted=True) for index, event in reported(run, "judged").items()}
    missing = unreported(run, limits)
    failed = TestResult(missing.status, f"judging the test failed: {missing.detail}")
    return {unit["id"]: verdicts.get(unit["id"], failed) for unit in units}
