"""`majority` (MBR-exec): run every candidate on the inputs of the prompt's examples and vote: candidates
that return the same outputs agree, and the pick comes from the largest agreeing group among those drawn.
A candidate that fails on every input has no vote. Expected outputs are not used, only agreement."""

from __future__ import annotations

import json
from collections import Counter

from training.evaluation.prompt_examples import examples_from_question
from training.evaluation.selection import Selection, SelectionTask
from training.evaluation.selectors.execution import outputs_on


class MajoritySelector:
    name, executes, fingerprint = "majority", True, "majority"
    note = "largest group of candidates with the same outputs on the prompt's example inputs"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def select(self, task: SelectionTask) -> Selection:
        calls = [e for e in examples_from_question(task.question) if e.fn_name]
        names = Counter(e.fn_name for e in calls)
        if not names:
            return Selection(clusters=("",) * len(task.candidates), weights={"": 1.0}, no_signal=True)
        fn_name = (task.entry_point if task.entry_point in names else names.most_common(1)[0][0]) or ""
        inputs = [e.args for e in calls if e.fn_name == fn_name]
        outputs = outputs_on(fn_name, inputs, [c.code for c in task.candidates], self.workers)
        clusters = tuple(
            json.dumps([o.get("value", "<error>") for o in run], sort_keys=True, default=repr)
            for run in outputs
        )
        weights = {
            key: 0.0 if all("value" not in o for o in run) else 1.0
            for key, run in zip(clusters, outputs, strict=True)
        }
        return Selection(clusters=clusters, weights=weights)
