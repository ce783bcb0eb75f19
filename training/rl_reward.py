"""The RL reward: extract code by the reference rule, gate on validity, score with the reward model,
shape (CodeScaler's validity-preserving softplus). One implementation for TRL's GRPO, the HTTP reward
endpoint other RL frameworks call, and verl's reward-function hook.

Scoring goes to an in-process `RewardScorer` or to a running `codescaler serve` (whose score requests
apply the same gate and shaping there, batched with every other client's work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.candidates import score_gated
from engine.shaping import ShapingMode
from engine.syntax.extraction import extract_code
from engine.syntax.validity import check_syntax

Extraction = Literal["reference", "lenient", "none"]


def completion_text(completion: Any) -> str:
    """A completion as TRL passes it: plain text, or a conversation whose last message is the answer."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def prompt_text(prompt: Any) -> str:
    """The question of a prompt: plain text, or the last user message of a conversation."""
    if isinstance(prompt, list):
        users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1]) if users else ""
    return str(prompt)


@dataclass
class CodeReward:
    """Shaped rewards for (question, response) pairs."""

    scorer: Any = None  # an engine RewardScorer, or None with `engine_url`
    engine_url: str | None = None
    token: str | None = None
    language: str = "python"
    extraction: Extraction = "reference"
    shaping: ShapingMode = "softplus"

    def code_of(self, response: str) -> str:
        return response if self.extraction == "none" else extract_code(response, self.extraction).code

    def rewards(self, questions: Sequence[str], responses: Sequence[str]) -> list[float]:
        codes = [self.code_of(response) for response in responses]
        if self.engine_url:
            return self._remote(questions, codes)
        checks = [check_syntax(code, self.language) for code in codes]
        return [one.reward for one in score_gated(self.scorer, list(zip(questions, codes, strict=True)), checks,
                                                  self.shaping)]  # fmt: skip

    def _remote(self, questions: Sequence[str], codes: Sequence[str]) -> list[float]:
        from engine.protocol import Candidate, ScoreRequest
        from engine.serve.client import RemoteRanker

        rewards = [0.0] * len(codes)
        by_question: dict[str, list[int]] = {}
        for index, question in enumerate(questions):
            by_question.setdefault(question, []).append(index)
        with RemoteRanker(self.engine_url, self.token) as ranker:  # type: ignore[arg-type]
            for question, indices in by_question.items():
                candidates = [Candidate(code=codes[i], language=self.language) for i in indices]
                result = ranker.score(ScoreRequest(question=question, candidates=candidates))
                for i, item in zip(indices, result.items, strict=True):
                    rewards[i] = item.reward
        return rewards

    def trl_reward_function(self):
        """An async TRL reward function `f(prompts, completions, **columns)`; a `question` column, when the
        dataset has one, is the question the reward model reads (else the prompt's last user message)."""

        async def codescaler_reward(prompts, completions, question=None, **_: Any) -> list[float]:
            questions = list(question) if question is not None else [prompt_text(p) for p in prompts]
            responses = [completion_text(c) for c in completions]
            return await asyncio.to_thread(self.rewards, questions, responses)

        return codescaler_reward
