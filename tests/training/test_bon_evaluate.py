"""`evaluate_bon` on real HumanEval problems with scripted pools: each selector's accuracy and curve where
the answer is known, selectors blind to ground truth, and a resumed run that executes nothing again."""

from __future__ import annotations

import dataclasses
import json

import pytest

import training.verify
from engine.reward.model_source import load_tokenizer
from training.data.problems import load_problems
from training.evaluation.bon import BonSetup, evaluate_bon
from training.evaluation.pools import PoolCandidate
from training.evaluation.prompt_examples import examples_from_question
from training.evaluation.selectors.baselines import FirstSelector, LogprobSelector, RandomSelector
from training.evaluation.selectors.codet import CodetSelector
from training.evaluation.selectors.examples import ExamplesSelector
from training.evaluation.selectors.majority import MajoritySelector
from training.problems import TestSpec

from .scripted_policy import ScriptedPolicy, humaneval_answers


class TestWriter(ScriptedPolicy):
    """Answers codet's request for tests with the problem's own prompt examples as asserts."""

    __test__ = False

    def __init__(self, tokenizer, problems):
        super().__init__(tokenizer, {})
        self.problems = problems

    def _generate(self, prompt, options, cancel=None):
        from engine.generation.base import Sample

        for problem in self.problems.values():
            if problem.question in prompt:
                tests = "\n".join(e.test for e in examples_from_question(problem.question))
                return [Sample(f"```python\n{tests}\n```")] * options.n
        return [Sample("no idea")] * options.n


@pytest.fixture(scope="module")
def problems():
    return load_problems("humaneval", limit=3)


@pytest.fixture(scope="module")
def pools(problems):
    answers = humaneval_answers(problems)
    return {
        task_id: [PoolCandidate(code, mean_logprob=-float(i)) for i, code in enumerate(answers[p.question])]
        for task_id, p in problems.items()
    }


@pytest.fixture(scope="module")
def selectors(problems, tiny_models):
    writer = TestWriter(load_tokenizer(str(tiny_models["policy"])), problems)
    return [
        RandomSelector(),
        FirstSelector(),
        LogprobSelector(),
        ExamplesSelector(None, workers=2),
        MajoritySelector(workers=2),
        CodetSelector(writer, "scripted", workers=2),
    ]


def run(problems, pools, selectors, out):
    setup = BonSetup("humaneval", "scripted", None, seed=0, workers=2, progress=False)
    return evaluate_bon(problems, pools, selectors, out, setup)


@pytest.fixture(scope="module")
def first_run(problems, pools, selectors, tmp_path_factory):
    out = tmp_path_factory.mktemp("bon")
    return out, run(problems, pools, selectors, out)


def test_accuracies_where_the_answer_is_known(first_run):
    _, report = first_run
    s = report["selectors"]
    # per problem: 3 correct programs of 5 (canonical, with a comment, with an unused global), 2 wrong
    assert report["executions"] == {"programs": 15, "cached": 0, "passed": 9}
    assert s["random"]["accuracy"] == pytest.approx(0.6)
    assert [p["accuracy"] for p in s["random"]["curve"]] == pytest.approx([0.6] * 5)
    assert s["oracle"]["accuracy"] == 1.0
    assert s["oracle"]["curve"][0]["accuracy"] == pytest.approx(0.6)
    assert s["oracle"]["curve"][1]["accuracy"] == pytest.approx(1 - (2 * 1) / (5 * 4))
    assert s["first"]["accuracy"] == 1.0 and s["logprob"]["accuracy"] == 1.0  # sample 0 is the canonical
    # every correct program passes the prompt's examples and agrees on their outputs; wrong ones do not
    for name in ("examples", "majority", "codet"):
        assert s[name]["accuracy"] == pytest.approx(1.0), name
        assert s[name]["no_signal"] == 0 and s[name]["executes"]
        assert s[name]["vs_random"]["difference"] == pytest.approx(0.4)
        assert s[name]["latency_s"]["p50"] > 0
    assert s["random"]["executes"] is False
    assert any("`examples` beats a random pick" in line for line in report["findings"])


def test_selectors_never_see_ground_truth(first_run, problems, pools, selectors, tmp_path):
    """The same pools against tests that fail everything: the selections are identical, only the
    accuracies change."""
    out, _ = first_run
    failing = {
        task_id: dataclasses.replace(
            p, tests=TestSpec(kind="check", code="def check(candidate):\n    assert False\n")
        )
        for task_id, p in problems.items()
    }
    report = run(failing, pools, selectors, tmp_path)
    assert report["selectors"]["oracle"]["accuracy"] == 0.0
    assert report["findings"][0].startswith("No candidate passes")

    def selections(folder):
        rows = [json.loads(line) for line in (folder / "selections.jsonl").read_text().splitlines()]
        return {(row["selector"], row["task_id"]): row["selection"] for row in rows}

    assert selections(tmp_path) == selections(out)


def test_a_resumed_run_executes_nothing_again(first_run, problems, pools, selectors, monkeypatch):
    out, report = first_run
    executions = out / "executions.jsonl"
    data = executions.read_bytes()
    executions.write_bytes(data[:-7])  # killed while writing the last verdict
    calls = []
    real = training.verify.verify_many

    def counting(pairs, *args, **kwargs):
        pairs = list(pairs)
        calls.append(len(pairs))
        return real(pairs, *args, **kwargs)

    monkeypatch.setattr(training.verify, "verify_many", counting)
    again = run(problems, pools, selectors, out)
    assert calls == [1]  # the torn verdict only; every selection came from the cache
    assert again["executions"]["cached"] == 14
    strip = lambda r: {k: {**v, "latency_s": None} for k, v in r["selectors"].items()}  # noqa: E731
    assert strip(again) == strip(report)
    assert again["selectors"]["examples"]["latency_s"] == report["selectors"]["examples"]["latency_s"]
