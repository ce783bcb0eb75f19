"""`eval rm --fim-set`: the benchmark's middle against failing one-edit mutants at the editor's cursor,
labels the sandbox confirms, scores through the editor reward input, resumable."""

from __future__ import annotations

import json
import subprocess

import pytest

from engine.document import Completion
from engine.editor_reward_input import editor_reward_pair
from training.evaluation import fim_rm, infilling
from training.verify import verify_many


@pytest.fixture(scope="module")
def evaluated(codescaler_cli, tiny_reward, tmp_path_factory):
    out = tmp_path_factory.mktemp("fim-rm")
    command = [codescaler_cli, "eval", "rm", "--reward-model", str(tiny_reward), "--fim-set", "single",
               "--limit", "12", "--workers", "2", "-q", "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return command, out, result


@pytest.mark.slow
def test_pairs_are_failing_mutants_of_a_passing_middle(evaluated):
    _, out, result = evaluated
    report = json.loads((out / "report.json").read_text())
    records = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    tasks = {task.task_id: task for task in infilling.load_tasks(infilling.bundled_path("single"), 12)}
    assert len(records) == report["tasks"] == 12
    checks, failing = [], 0
    for record in records:
        task = tasks[record["task_id"]]
        assert record["right"] == task.canonical_solution.rstrip("\n")
        checks.append((task.problem(), infilling.program(task, record["right"])))
        for mutant in record["mutants"]:
            assert mutant["fill"] != record["right"] and mutant["kind"] in {
                "compare", "constant", "arithmetic", "boolean", "slice", "call"}  # fmt: skip
            checks.append((task.problem(), infilling.program(task, mutant["fill"])))
            failing += mutant["failed"] and record["right_passed"]
    verdicts = iter(verify_many(checks, workers=2, progress=False))  # the labels, re-run
    for record in records:
        assert next(verdicts).passed == record["right_passed"]
        for mutant in record["mutants"]:
            assert (not next(verdicts).passed) == mutant["failed"]
    assert report["pairs"] == failing > 0
    assert sum(kind["pairs"] for kind in report["by_kind"].values()) == failing
    assert (
        0 <= report["accuracy"] <= 1 and report["interval"][0] <= report["accuracy"] <= report["interval"][1]
    )
    assert f"on {failing} pairs" in result.stdout and (out / "report.md").is_file()


@pytest.mark.slow
def test_a_rerun_reuses_the_pairs_and_other_settings_are_refused(evaluated):
    command, out, first = evaluated
    before = (out / "pairs.jsonl").read_text()
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout == first.stdout
    assert (out / "pairs.jsonl").read_text() == before  # nothing re-verified
    other = subprocess.run([*command, "--mutants-per-task", "2"], capture_output=True, text=True, timeout=600)
    assert other.returncode == 1 and "mutants_per_task" in other.stderr and other.stderr.count("\n") == 1
    both = subprocess.run([*command[:7], "--data", "x.jsonl"], capture_output=True, text=True, timeout=600)
    assert both.returncode == 1 and "not both" in both.stderr


class LengthScorer:
    """Scores a reward input by the length of its code: a rule whose hits are easy to count by hand."""

    def score(self, inputs):
        return [float(len(code)) for _, code in inputs]


def test_accuracy_counts_strict_wins_by_kind():
    tasks = infilling.load_tasks(infilling.bundled_path("single"), 3)
    records = [
        {"task_id": tasks[0].task_id, "right": "return x", "right_passed": True, "invalid_mutants": 0,
         "mutants": [{"fill": "return x + 1", "kind": "arithmetic", "failed": True},
                     {"fill": "return", "kind": "constant", "failed": True},
                     {"fill": "return y", "kind": "constant", "failed": True},  # a tie: a miss
                     {"fill": "return xx", "kind": "call", "failed": False}]},  # still passes: no pair
        {"task_id": tasks[1].task_id, "right": "pass", "right_passed": False, "invalid_mutants": 2,
         "mutants": [{"fill": "return 1", "kind": "constant", "failed": True}]},  # its middle fails: no pair
    ]  # fmt: skip
    report = fim_rm.accuracy_report(LengthScorer(), tasks, records)
    assert report["pairs"] == 3 and report["accuracy"] == pytest.approx(1 / 3)
    assert (
        report["by_kind"]["arithmetic"]["accuracy"] == 0 and report["by_kind"]["constant"]["accuracy"] == 0.5
    )
    assert report["tasks_with_pairs"] == 1 and report["tasks_whose_reference_fails"] == 1
    assert report["mutants_invalid"] == 2 and report["mutants_still_passing"] == 1
    question, code = editor_reward_pair(tasks[0].context(), Completion("return x"))
    assert "return x" in code and question.startswith("Complete the code in humaneval.py")
