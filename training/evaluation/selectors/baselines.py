"""Selectors that need neither a model nor execution: what best-of-N has to beat."""

from __future__ import annotations

from training.evaluation.selection import Selection, SelectionTask


class RandomSelector:
    """Every candidate tied: the exact expectation of a uniform pick, not one sampled pick."""

    name, executes, fingerprint = "random", False, "random"
    note = "a uniformly random candidate (exact expectation)"

    def select(self, task: SelectionTask) -> Selection:
        return Selection(scores=(0.0,) * len(task.candidates))


class FirstSelector:
    """The policy's first sample: what a client without a ranker shows."""

    name, executes, fingerprint = "first", False, "first"
    note = "the first sample in the pool (no selection)"

    def select(self, task: SelectionTask) -> Selection:
        return Selection(scores=tuple(-float(i) for i in range(len(task.candidates))))


class LogprobSelector:
    """The policy's own confidence: mean token log-probability (candidates without one rank last)."""

    name, executes, fingerprint = "logprob", False, "logprob"
    note = "highest mean token log-probability of the policy"

    def select(self, task: SelectionTask) -> Selection:
        values = [c.mean_logprob for c in task.candidates]
        return Selection(
            scores=tuple(float("-inf") if v is None else v for v in values),
            no_signal=all(v is None for v in values),
        )
