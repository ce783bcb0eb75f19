"""Pools: rows in every accepted shape, bad rows reported by line and skipped, and sampling that resumes
after a kill without sampling a finished problem again."""

from __future__ import annotations

import json

import pytest

from engine.reward.model_source import load_tokenizer
from training.data.problems import load_problems
from training.evaluation.pools import generate_pool, read_pool, with_prompt_imports
from training.sampling import SamplingSettings, problem_seed

from .scripted_policy import ScriptedPolicy, humaneval_answers


@pytest.fixture(scope="module")
def problems():
    return load_problems("humaneval", limit=3)


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_row_shapes_and_bad_rows(problems, tmp_path):
    first, second, _ = problems
    pool = write(
        tmp_path / "pool.jsonl",
        [
            json.dumps({"task_id": first, "code": "def f():\n    return 1\n", "logprobs": [-1.0, -3.0]}),
            json.dumps({"task_id": first, "completion": "    return []\n", "mean_logprob": -0.5}),
            json.dumps({"task_id": second, "response": "Here:\n```python\nx = 1\n```"}),
            json.dumps({"task_id": second, "response": "no code at all"}),
            "{not json",
            json.dumps({"task_id": "HumanEval/999", "code": "x = 1"}),
            json.dumps({"task_id": first}),
            json.dumps({"task_id": first, "code": 3}),
            json.dumps(["a", "list"]),
            "",
        ],
    )
    pools, bad = read_pool(pool, problems)
    assert [c.mean_logprob for c in pools[first]] == [-2.0, -0.5]
    assert pools[first][1].code.endswith(problems[first].question + "    return []\n")
    # HumanEval/0's prompt imports typing.List; the completion carries the prompt, so nothing is added
    assert pools[first][1].code.count("from typing import List") == 1
    # the code block, with the prompt's import it lacks; a response without code is a failed answer
    assert [c.code for c in pools[second]] == ["from typing import List\nx = 1", ""]
    assert [(row.line, row.reason.split(" ")[0]) for row in bad] == [
        (5, "invalid"), (6, "unknown"), (7, "no"), (8, "'code'"), (9, "expected"),
    ]  # fmt: skip
    assert "HumanEval/999" in bad[1].reason


def test_missing_pool_file_is_a_clear_error(problems, tmp_path):
    from engine.errors import CodescalerError

    with pytest.raises(CodescalerError, match="cannot read the pool"):
        read_pool(tmp_path / "nope.jsonl", problems)


def test_prompt_imports_are_added_when_missing():
    question = "from typing import List\nimport math\n\ndef f(xs: List[int]) -> int:\n"
    code = "import math\ndef f(xs: List[int]) -> int:\n    return 0\n"
    assert with_prompt_imports(question, code) == "from typing import List\n" + code
    assert with_prompt_imports(question, "") == ""


class CountingPolicy(ScriptedPolicy):
    def __init__(self, *args):
        super().__init__(*args)
        self.calls = 0

    def _generate(self, prompt, options, cancel=None):
        self.calls += 1
        return super()._generate(prompt, options, cancel)


def test_sampling_resumes_after_a_torn_problem(problems, tiny_models, tmp_path):
    tokenizer = load_tokenizer(str(tiny_models["policy"]))
    settings = SamplingSettings(n=3, max_new_tokens=16, seed=5)
    path = tmp_path / "pool.jsonl"
    policy = CountingPolicy(tokenizer, humaneval_answers(problems))
    generate_pool(problems, policy, path, settings, problem_seed)
    assert policy.calls == 3
    complete = path.read_text(encoding="utf-8")
    lines = complete.splitlines(keepends=True)
    # a kill in the middle of the last problem's write: two whole rows and half of the third
    path.write_text("".join(lines[:7]) + lines[7][:20], encoding="utf-8")
    again = CountingPolicy(tokenizer, humaneval_answers(problems))
    generate_pool(problems, again, path, settings, problem_seed)
    assert again.calls == 1  # only the torn problem is sampled again
    assert path.read_text(encoding="utf-8") == complete  # nothing doubled, nothing lost
    pools, bad = read_pool(path, problems)
    assert not bad and [len(c) for c in pools.values()] == [3, 3, 3]
