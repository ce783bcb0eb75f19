"""The reward model as a selector, as the engine runs it and without its syntax gate.

`rm` is the product's path (`engine.candidates.score_candidates`): a tree-sitter syntax check, the reward
model only for programs that parse, and validity-preserving shaping (a program that does not parse ranks
below every one that does). `rm-raw` scores every candidate with the reward model alone, so a report shows
what the gate adds.
"""

from __future__ import annotations

from engine.candidates import score_candidates
from engine.protocol import Candidate
from engine.reward.scorer import RewardScorer
from training.evaluation.selection import Selection, SelectionTask


class RewardSelector:
    executes = False

    def __init__(self, scorer: RewardScorer, model: str, syntax_gate: bool = True) -> None:
        """`model` names the reward model and its settings, so cached selections follow a change of model."""
        self.scorer = scorer
        self.syntax_gate = syntax_gate
        scorer.score([("warm-up", "pass")])  # lazy initialisation is not selection latency
        self.name = "rm" if syntax_gate else "rm-raw"
        self.fingerprint = f"{self.name}|{model}"
        self.note = (
            "reward model after the syntax gate, with validity-preserving shaping (the engine's ranking)"
            if syntax_gate
            else "reward model score on every candidate, no syntax check"
        )

    def select(self, task: SelectionTask) -> Selection:
        if self.syntax_gate:
            scored = score_candidates(self.scorer, task.question, [Candidate(code=c.code, language="python") for c in
                                                                    task.candidates])  # fmt: skip
            return Selection(scores=tuple(s.reward for s in scored))
        return Selection(scores=tuple(self.scorer.score([(task.question, c.code) for c in task.candidates])))
