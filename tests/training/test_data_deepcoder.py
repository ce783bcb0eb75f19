"""DeepCoder-format datasets (lcbv5, primeintellect, taco encodings) through `load_problems("hf:...")`.

There is no hub access here, so each encoding is a small local dataset built from realistic rows and saved
in one of the shapes users keep (a `save_to_disk` folder, parquet, JSON lines): the same code path as the hub.
"""

from __future__ import annotations

import json

import pytest

from engine.errors import CodescalerError
from training.data import load_problems

datasets = pytest.importorskip("datasets")

LCB_STDIN = {
    "problem": "You are given N integers A_1, ..., A_N. Print their sum.\n\nInput\n\nN\nA_1 ... A_N",
    "starter_code": "",
    "tests": json.dumps(
        [
            {"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"},
            {"input": "1\n100\n", "output": "100\n", "testtype": "stdin"},
        ]
    ),
    "metadata": json.dumps({}),
}
LCB_FUNCTIONAL = {
    "problem": "You are given a 0-indexed integer array nums and an integer k. Return the maximum sum of a "
    "subarray of length k.",
    "starter_code": "class Solution:\n    def maxSum(self, nums: List[int], k: int) -> int:\n        ",
    "tests": json.dumps(
        [
            {"input": "[1, 5, 2, 7]\n2", "output": "9", "testtype": "functional"},
            {"input": "[3]\n1\n", "output": "3", "testtype": "functional"},
        ]
    ),
    "metadata": json.dumps({"func_name": "maxSum"}),
}
PRIME_STDIN = {
    "problem": "Vasya has n apples. Print n * 2.",
    "tests": json.dumps([{"input": "2\n", "output": "4\n", "type": "stdin_stdout", "fn_name": None}]),
}
PRIME_CALL = {
    "problem": "Write a function `reverse_words(s)` that reverses the order of words.",
    "tests": json.dumps(
        [
            {"input": ["a b"], "output": ["b a"], "type": "function_call", "fn_name": "reverse_words"},
            {"input": ["x"], "output": ["x"], "type": "function_call", "fn_name": "reverse_words"},
        ]
    ),
}
TACO_STDIN = {
    "problem": "Given T test cases, each with two integers a and b, print a + b.",
    "tests": json.dumps({"inputs": ["2\n1 2\n3 4\n", ["1", "5 5"]], "outputs": ["3\n7\n", ["10"]]}),
}
TACO_CALL = {
    "problem": "Given an array of smileys, return the count of valid smiling faces.",
    "starter_code": "def count_smileys(arr):\n\t",
    "tests": json.dumps(
        {
            "fn_name": "count_smileys",
            "inputs": [[[]], [[":D", ":~)", ";~D", ":)"]], [[";]", ":[", ";*", ":$", ";-D"]]],
            "outputs": [[0], [4], [2]],
        }
    ),
}
TACO_CALL_UNWRAPPED = {
    "problem": "Return the two smallest numbers, sorted.",
    "tests": json.dumps(
        {"fn_name": "two_min", "inputs": [[[3, 1, 2]], [[5, 4]]], "outputs": [[1, 2], [4, 5]]}
    ),
}


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """Keep `load_dataset`'s arrow cache out of the user's home."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


def test_lcbv5_from_a_save_to_disk_folder(tmp_path):
    folder = tmp_path / "lcbv5"
    split = datasets.Dataset.from_list([LCB_STDIN, LCB_FUNCTIONAL])
    datasets.DatasetDict({"train": split, "test": split.select([1])}).save_to_disk(str(folder))
    problems = load_problems(f"hf:{folder}")
    assert list(problems) == ["lcbv5/train/0", "lcbv5/train/1"]

    stdin = problems["lcbv5/train/0"]
    assert stdin.question == LCB_STDIN["problem"] and stdin.source == f"hf:{folder}"
    assert stdin.tests.kind == "stdio"
    assert stdin.tests.cases == (
        {"input": "3\n1 2 3\n", "output": "6\n"},
        {"input": "1\n100\n", "output": "100\n"},
    )
    assert stdin.metadata == {"encoding": "lcbv5"}

    functional = problems["lcbv5/train/1"]
    assert functional.tests.kind == "call" and functional.tests.fn_name == "maxSum"
    assert functional.tests.cases == (
        {"input": [[1, 5, 2, 7], 2], "output": 9},
        {"input": [[3], 1], "output": 3},
    )
    assert functional.question.endswith(
        "\n\nStarter code:\n```python\nclass Solution:\n    def maxSum(self, nums: List[int], k: int) -> int:\n```\n"
    )
    assert functional.metadata["dataset_metadata"] == {"func_name": "maxSum"}

    test_split = load_problems(f"hf:{folder}::test")
    assert list(test_split) == ["lcbv5/test/0"]
    with pytest.raises(CodescalerError, match=r"has no split 'valid' \(it has: train, test\)"):
        load_problems(f"hf:{folder}::valid")


def test_lcbv5_func_name_inside_each_test_as_rllm_writes_it(tmp_path):
    tests = [dict(test, metadata={"func_name": "maxSum"}) for test in json.loads(LCB_FUNCTIONAL["tests"])]
    row = {**LCB_FUNCTIONAL, "tests": json.dumps(tests), "metadata": ""}
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (problem,) = load_problems(f"hf:{path}").values()
    assert problem.tests.fn_name == "maxSum" and len(problem.tests.cases) == 2


def test_primeintellect_from_parquet(tmp_path):
    path = tmp_path / "primeintellect.parquet"
    datasets.Dataset.from_list([PRIME_STDIN, PRIME_CALL]).to_parquet(str(path))
    problems = load_problems(f"hf:{path}")
    assert list(problems) == ["primeintellect/train/0", "primeintellect/train/1"]
    stdin, call = problems.values()
    assert stdin.tests.kind == "stdio" and stdin.tests.cases == ({"input": "2\n", "output": "4\n"},)
    assert call.tests.kind == "call" and call.tests.fn_name == "reverse_words"
    assert call.tests.cases == ({"input": ["a b"], "output": "b a"}, {"input": ["x"], "output": "x"})
    assert call.metadata == {"encoding": "primeintellect", "outputs_unwrapped": True}


def test_taco_from_json_lines_with_and_without_fn_name(tmp_path):
    path = tmp_path / "taco.json"
    path.write_text(
        "".join(
            json.dumps({"starter_code": "", **row}) + "\n"
            for row in [TACO_STDIN, TACO_CALL, TACO_CALL_UNWRAPPED]
        )
    )
    problems = load_problems(f"hf:{path}", limit=3)
    stdin, call, unwrapped = problems.values()
    assert stdin.tests.kind == "stdio"
    assert stdin.tests.cases == (
        {"input": "2\n1 2\n3 4\n", "output": "3\n7\n"},
        {"input": "1\n5 5", "output": "10"},
    )
    assert call.tests.kind == "call" and call.tests.fn_name == "count_smileys"
    assert [case["output"] for case in call.tests.cases] == [0, 4, 2]  # [[0], [4], [2]] unwrapped
    assert call.tests.cases[1]["input"] == [[":D", ":~)", ";~D", ":)"]]
    assert "def count_smileys(arr):" in call.question and call.metadata["outputs_unwrapped"] is True
    assert [case["output"] for case in unwrapped.tests.cases] == [[1, 2], [4, 5]]  # not all one-element
    assert "outputs_unwrapped" not in unwrapped.metadata
    assert list(load_problems(f"hf:{path}", limit=1)) == ["taco/train/0"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**LCB_STDIN, "tests": "[{"}, "field 'tests' is not valid JSON (Expecting property name enclosed in double quotes)"),
        ({**LCB_STDIN, "tests": "[]"}, "field 'tests' must be a non-empty list of tests or a TACO {inputs, outputs} object"),
        ({**LCB_FUNCTIONAL, "metadata": "{}"}, "functional tests need a function name in field 'metadata.func_name'"),
        (
            {**LCB_STDIN, "tests": json.dumps([{"input": "1", "output": "1", "testtype": "stdin"}, {"input": "[1]", "output": "1", "testtype": "functional"}])},
            "field 'tests[].testtype' must be one of stdin, functional and the same for every test, found functional, stdin",
        ),
        ({**LCB_FUNCTIONAL, "tests": json.dumps([{"input": "[1,\n2", "output": "1", "testtype": "functional"}])}, "field 'tests[0].input line 1' is not valid JSON (Expecting value)"),
        ({**TACO_CALL, "tests": json.dumps({"fn_name": "f", "inputs": [[1]], "outputs": []})}, "fields 'tests.inputs' and 'tests.outputs' differ in length (1 vs 0)"),
        ({**TACO_CALL, "tests": json.dumps({"fn_name": "f", "inputs": [1], "outputs": [1]})}, "field 'tests.inputs[0]' must be a list of arguments, got int"),
        ({**PRIME_STDIN, "tests": json.dumps([{"input": 2, "output": "4", "type": "stdin_stdout"}])}, "field 'tests[0].input' must be a string, got int"),
        ({**PRIME_STDIN, "problem": ""}, "field 'problem' must be a non-empty string"),
    ],
)  # fmt: skip
def test_bad_rows_name_the_dataset_row_and_field(tmp_path, row, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"starter_code": "", "metadata": "", **PRIME_STDIN})
        + "\n"
        + json.dumps({"starter_code": "", "metadata": "", **row})
        + "\n"
    )
    with pytest.raises(CodescalerError) as error:
        load_problems(f"hf:{path}")
    assert str(error.value) == f"{path} row 1: {message}"


def test_unreadable_references_are_one_line_errors(tmp_path):
    with pytest.raises(
        CodescalerError, match=r"^bad dataset reference 'hf:': write hf:DATASET\[:CONFIG\[:SPLIT\]\]"
    ):
        load_problems("hf:")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CodescalerError, match=r"cannot read .*notes.txt: give a .* file or a dataset folder"):
        load_problems(f"hf:{tmp_path / 'notes.txt'}")


def test_hub_reference_without_hub_access_is_a_one_line_error():
    """Tests run offline (HF_HUB_OFFLINE, tests/conftest.py): the hub path fails fast and says why."""
    with pytest.raises(CodescalerError) as error:
        load_problems("hf:agentica-org/DeepCoder-Preview-Dataset:lcbv5:train")
    assert str(error.value).startswith(
        "cannot load dataset agentica-org/DeepCoder-Preview-Dataset: Couldn't reach"
    )
    assert "\n" not in str(error.value)
