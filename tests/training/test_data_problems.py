"""Problem loaders on the real benchmarks, the JSONL problem schema and its error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.errors import CodescalerError
from training.data import load_problems, write_problems
from training.problems import Problem
from training.problems import TestSpec as Spec  # not collected as a test class


def test_humaneval_loads_all_164_as_check_problems():
    problems = load_problems("humaneval")
    assert len(problems) == 164
    assert list(problems)[:2] == ["HumanEval/0", "HumanEval/1"]
    for task_id, problem in problems.items():
        assert isinstance(problem, Problem) and problem.task_id == task_id
        assert problem.tests.kind == "check" and "def check(candidate)" in problem.tests.code
        assert problem.entry_point and f"def {problem.entry_point}(" in problem.question
        assert problem.source == "humaneval"
        assert isinstance(problem.metadata["canonical_solution"], str)


def test_limit_keeps_the_first_problems():
    assert list(load_problems("humaneval", limit=3)) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert load_problems("humaneval", limit=0) == {}
    with pytest.raises(CodescalerError, match="limit must be >= 0"):
        load_problems("humaneval", limit=-1)


def test_mbppplus_loads_all_399_with_parsed_inputs_and_the_reference():
    problems = load_problems("mbppplus")
    assert len(problems) == 399
    assert sum(len(problem.tests.cases) for problem in problems.values()) == 43318
    for problem in problems.values():
        spec = problem.tests
        assert spec.kind == "call" and spec.fn_name == problem.entry_point
        assert spec.cases and all(
            set(case) == {"input"} and isinstance(case["input"], list) for case in spec.cases
        )
        assert f"def {spec.fn_name}" in spec.reference
        assert problem.question and not problem.question.startswith('"""')
        assert "assert " in problem.metadata["assertion"]
    similar = problems["Mbpp/2"]
    assert similar.question == (
        "Write a function to find the shared elements from the given two lists.\n"
        "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"
    )
    assert len(similar.tests.cases) == 3 + 108  # base + plus inputs
    assert similar.tests.cases[0] == {"input": [(3, 4, 5, 6), (5, 7, 4, 10)]}  # EvalPlus's tuples restored
    assert problems["Mbpp/793"].tests.cases[-1] == {"input": [[2, 2, 3, 3, 6, 8, 9], 3]}  # empty plus_input
    assert problems["Mbpp/124"].tests.cases[0]["input"][1] == 1j
    assert sum(problem.tests.atol > 0 for problem in problems.values()) == 16
    assert problems["Mbpp/737"].metadata["evalplus_oracle"] == "output is not None"


def test_mbppplus_asserts_variant_splits_imports_from_asserts():
    problems = load_problems("mbppplus-asserts")
    assert len(problems) == 399
    volume = problems["Mbpp/82"].tests
    assert volume.kind == "asserts" and volume.setup == "import math"
    assert len(volume.asserts) == 3 and all(
        line.startswith("assert math.isclose(") for line in volume.asserts
    )


def test_mbppplus_inputs_stored_as_text_are_parsed_safely(tmp_path):
    row = {
        "task_id": "Mbpp/9999",
        "prompt": '"""\nAdd.\nassert add(1, 2) == 3\n"""\n',
        "entry_point": "add",
        "canonical_solution": "def add(a, b):\n    return a + b\n",
        "base_input": "[[1, 2]]",  # JSON
        "plus_input": "[((1, 2), (3,)), ({1}, 'x')]",  # Python literals only
        "atol": 0,
        "assertion": "assert add(1, 2) == 3\n",
    }
    bad = {**row, "task_id": "Mbpp/9998", "plus_input": "[__import__('os').getcwd()]"}
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(row) + "\n")
    cases = load_problems(f"mbppplus:{path}")["Mbpp/9999"].tests.cases
    assert [case["input"] for case in cases] == [[1, 2], [(1, 2), (3,)], [{1}, "x"]]
    path.write_text(json.dumps(row) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CodescalerError) as error:
        load_problems(f"mbppplus:{path}")
    assert (
        str(error.value) == f"{path}:2 (Mbpp/9998): field 'plus_input' is neither JSON nor a Python literal"
    )


def test_missing_mbppplus_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(CodescalerError, match=r"MBPP\+ data not found at .*: pass mbppplus:PATH"):
        load_problems(f"mbppplus:{tmp_path / 'nope.json'}")


def test_unknown_spec_lists_the_accepted_ones():
    with pytest.raises(CodescalerError) as error:
        load_problems("no-such-problems.jsonl")
    assert str(error.value) == (
        "unknown problems 'no-such-problems.jsonl' (not a known name or an existing file): give humaneval, "
        "mbppplus[:PATH], mbppplus-asserts[:PATH], hf:DATASET[:CONFIG[:SPLIT]] (DeepCoder format) or the "
        "path of a JSONL problems file"
    )
    assert "\n" not in str(error.value)


ONE_OF_EACH = [
    Problem(
        task_id="he/0",
        question='def add(a, b):\n    """Add."""\n',
        tests=Spec(kind="check", code="def check(candidate):\n    assert candidate(1, 2) == 3\n"),
        entry_point="add",
        source="handmade",
    ),
    Problem(
        task_id="mbpp/1",
        question="Write a function to square a number.",
        tests=Spec(kind="asserts", setup="import math", asserts=("assert sq(3) == 9", "assert sq(0) == 0")),
    ),
    Problem(
        task_id="call/1",
        question="Return the sum of a list.",
        tests=Spec(
            kind="call",
            fn_name="total",
            cases=({"input": [[1, 2]], "output": 3}, {"input": [[0.1, 0.2]]}),
            reference="def total(xs):\n    return sum(xs)\n",
            atol=1e-6,
        ),
        metadata={"difficulty": "easy"},
    ),
    Problem(
        task_id="stdio/1",
        question="Read n and print n squared.",
        tests=Spec(kind="stdio", cases=({"input": "3\n", "output": "9\n"},)),
    ),
]


def test_jsonl_problems_round_trip(tmp_path):
    path = tmp_path / "problems.jsonl"
    write_problems(path, ONE_OF_EACH)
    loaded = load_problems(str(path))
    assert list(loaded) == [problem.task_id for problem in ONE_OF_EACH]
    for problem in ONE_OF_EACH:
        expected = problem if problem.source else Problem(**{**problem.__dict__, "source": str(path)})
        assert loaded[problem.task_id] == expected
    assert json.loads(path.read_text().splitlines()[3]) == {
        "task_id": "stdio/1",
        "question": "Read n and print n squared.",
        "tests": {"kind": "stdio", "cases": [{"input": "3\n", "output": "9\n"}]},
    }
    assert list(load_problems(str(path), limit=2)) == ["he/0", "mbpp/1"]


def test_writing_values_json_cannot_hold_is_a_clear_error(tmp_path):
    problem = Problem("s/1", "q", Spec(kind="call", fn_name="f", cases=({"input": [{1, 2}]},), reference="x"))
    with pytest.raises(
        CodescalerError, match=r"^problem s/1: .*set.*; a JSONL problems file holds JSON values only$"
    ):
        write_problems(tmp_path / "p.jsonl", [problem])
    assert not (tmp_path / "p.jsonl").exists()


GOOD = {"task_id": "t", "question": "q", "tests": {"kind": "stdio", "cases": [{"input": "1", "output": "1"}]}}
CALL = {"kind": "call", "fn_name": "f", "cases": [{"input": [1], "output": 2}]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**GOOD, "tests": {"kind": "unit"}}, "field 'tests.kind' must be one of check, asserts, call, stdio"),
        ({"task_id": "t", "tests": GOOD["tests"]}, "missing field 'question'"),
        ({**GOOD, "task_id": 7}, "field 'task_id' must be a string, got number"),
        ({**GOOD, "question": "  "}, "field 'question' is empty"),
        ({**GOOD, "tset": {}}, "unknown field 'tset' (put extra data under 'metadata')"),
        ({**GOOD, "metadata": []}, "field 'metadata' must be an object, got array"),
        ({**GOOD, "tests": "assert f(1) == 2"}, "field 'tests' must be an object, got string"),
        ({**GOOD, "tests": {"kind": "check", "code": "def check(c): pass"}}, "field 'entry_point' is required by tests of kind check"),
        ({**GOOD, "tests": {"kind": "check"}, "entry_point": "f"}, "missing field 'tests.code'"),
        ({**GOOD, "tests": {"kind": "asserts", "asserts": []}}, "field 'tests.asserts' must be a non-empty list of strings"),
        ({**GOOD, "tests": {"kind": "asserts", "asserts": ["assert f()", 3]}}, "field 'tests.asserts[1]' must be a non-empty string"),
        ({**GOOD, "tests": {**CALL, "code": "x"}}, "unknown field 'tests.code' (kind call uses: fn_name, cases, reference, atol)"),
        ({**GOOD, "tests": {**CALL, "fn_name": ""}}, "field 'tests.fn_name' is empty"),
        ({**GOOD, "tests": {**CALL, "cases": []}}, "field 'tests.cases' must be a non-empty list of objects"),
        ({**GOOD, "tests": {**CALL, "cases": [{"input": 1, "output": 2}]}}, "field 'tests.cases[0].input' must be a list of arguments, got number"),
        ({**GOOD, "tests": {**CALL, "cases": [{"input": [1], "output": 2}, {"input": [2]}]}}, "field 'tests.cases[1].output' is missing and there is no 'tests.reference' to compute it"),
        ({**GOOD, "tests": {**CALL, "cases": [{"input": [1], "ouput": 2}]}}, "unknown field 'tests.cases[0].ouput' (a case has 'input' and 'output')"),
        ({**GOOD, "tests": {**CALL, "atol": -1}}, "field 'tests.atol' must be a number >= 0"),
        ({**GOOD, "tests": {"kind": "stdio", "cases": [{"input": "1", "output": 1}]}}, "field 'tests.cases[0].output' must be a string, got number"),
        ({"problem": "Sum.", "tests": "[]"}, "this looks like a DeepCoder-format row ('problem', 'tests'): load the file as hf:PATH"),
    ],
)  # fmt: skip
def test_bad_rows_name_the_file_line_and_field(tmp_path, row, message):
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps(GOOD | {"task_id": "first"}) + "\n\n" + json.dumps(row) + "\n")
    with pytest.raises(CodescalerError) as error:
        load_problems(str(path))
    assert str(error.value) == f"{path}:3: {message}"


def test_duplicate_task_id_names_both_lines(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(json.dumps(GOOD | {"task_id": t}) for t in ["a", "b", "a"]) + "\n")
    with pytest.raises(CodescalerError) as error:
        load_problems(str(path))
    assert str(error.value) == f"{path}:3: duplicate task_id 'a' (first on line 1)"


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(CodescalerError, match=rf"^{re.escape(str(path))}:2: invalid JSON \("):
        load_problems(str(path))


def test_docs_show_an_example_of_every_test_kind_that_loads(tmp_path):
    """The JSONL examples in docs/data-formats.md are real: each one loads."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-formats.md").read_text()
    examples = re.findall(r"```json\n(\{\"task_id\".*?)\n```", doc, flags=re.DOTALL)
    path = tmp_path / "examples.jsonl"
    path.write_text("\n".join(json.dumps(json.loads(example)) for example in examples) + "\n")
    kinds = {problem.tests.kind for problem in load_problems(str(path)).values()}
    assert kinds == {"check", "asserts", "call", "stdio"}
