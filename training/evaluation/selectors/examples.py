"""`examples`: run each candidate on the examples the prompt already shows, and pick one that passes the
most of them; ties (including every problem without examples) go to the reward model when there is one."""

from __future__ import annotations

from training.evaluation.prompt_examples import examples_from_question
from training.evaluation.selection import Selection, SelectionTask, Selector, dense_scores
from training.evaluation.selectors.execution import passed_tests


class ExamplesSelector:
    name, executes = "examples", True

    def __init__(self, tiebreak: Selector | None, workers: int | None = None) -> None:
        self.tiebreak = tiebreak
        self.workers = workers
        self.fingerprint = f"examples|{tiebreak.fingerprint if tiebreak else 'ties uniform'}"
        self.note = "passes the most prompt examples (doctests / MBPP assert), ties by " + (
            tiebreak.name if tiebreak else "a uniform pick"
        )

    def select(self, task: SelectionTask) -> Selection:
        tests = [example.test for example in examples_from_question(task.question)]
        codes = [c.code for c in task.candidates]
        passed = (
            passed_tests(task.task_id, tests, codes, self.workers) if tests else [frozenset()] * len(codes)
        )
        second = self.tiebreak.select(task).scores if self.tiebreak else None
        keys = [(len(p), second[i] if second else 0.0) for i, p in enumerate(passed)]
        return Selection(scores=dense_scores(keys), no_signal=not tests)
