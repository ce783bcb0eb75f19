"""A test's verdict from the values a candidate returned, computed in the verifier on plain data.

Simple asserts are evaluated (assertions.holds), call cases compared (compare.values_match, with the
float tolerance and MBPP+'s special oracles), and a scripted test passes here only when every value is the
reference's own (its recorded run passed on exactly those values); otherwise it goes to the judge run.
"""

from __future__ import annotations

from typing import Any

from training.problems import Problem
from training.sandbox.assertions import holds
from training.sandbox.calls import Returned
from training.sandbox.compare import shorten, show, values_match
from training.sandbox.harness import decode, same
from training.sandbox.outcome import TestResult
from training.sandbox.plan import Asserted, Expected, Fails, PlannedTest

EVALPLUS_FLOAT_ATOL = 1e-6  # EvalPlus compares float results with this tolerance when a task sets none


def judged_here(problem: Problem, test: PlannedTest, returned: list[Returned]) -> TestResult | None:
    """The test's result, or None when only the judge run can tell (a scripted test with new values)."""
    seconds = sum(r.duration_s for r in returned)
    failed = next((r.error for r in returned if r.error is not None), None)
    if failed is not None:
        return TestResult(failed.status, failed.detail, seconds)
    rule = test.rule
    if isinstance(rule, Asserted):
        for (tree, constants, source), result in zip(rule.items, returned, strict=True):
            try:
                if not holds(tree, result.value, list(constants)):
                    return TestResult(
                        "wrong_answer", shorten(f"AssertionError at `{_first_line(source)}`"), seconds
                    )
            except Exception as exc:  # what the assert would have raised on this value
                detail = f"{type(exc).__name__}: {exc} (in `{_first_line(source)}`)"
                return TestResult("runtime_error", shorten(detail), seconds)
        return TestResult("passed", "", seconds)
    if isinstance(rule, Expected):
        return _compare_call(problem, rule, returned[0].value, seconds)
    if isinstance(rule, Fails):
        return TestResult(rule.status, rule.detail, seconds)
    if all(same(r.value, decode(ref)) for r, ref in zip(returned, rule.reference, strict=True)):
        return TestResult("passed", "", seconds)
    return None


def _first_line(source: str) -> str:
    return source.strip().splitlines()[0] if source.strip() else source


def _compare_call(problem: Problem, rule: Expected, got: Any, seconds: float) -> TestResult:
    spec = problem.tests
    want = rule.value
    atol = spec.atol
    if atol == 0 and rule.computed and _has_float(want):  # computed from the reference: EvalPlus
        atol = EVALPLUS_FLOAT_ATOL
    oracle = problem.metadata.get("evalplus_oracle")
    if _oracle_accepts(oracle, want, got) or values_match(want, got, atol):
        return TestResult("passed", "", seconds)
    case = spec.cases[rule.case]
    call = shorten(f"{spec.fn_name}({', '.join(show(arg) for arg in case['input'])})")
    return TestResult("wrong_answer", f"{call} returned {show(got)}, expected {show(want)}", seconds)


def _oracle_accepts(oracle: str | None, want: Any, got: Any) -> bool:
    """EvalPlus's special case for Mbpp/295 (evalplus/eval/__init__.py); its "any output" and "output is not
    None" oracles are applied in the sandbox, as what the call reports (calls.Call.reduce)."""
    return oracle == "output equals the reference's, or 0" and got == 0 and not isinstance(got, bool)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, list | tuple) and any(_has_float(item) for item in value)
