"""The execution reward (RLVR): 1 when the extracted program passes every test in the sandbox, else 0.
The baseline the CodeScaler paper compares its reward model against; needs problems with tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.syntax.extraction import extract_code
from training.problems import Problem
from training.rl_reward import completion_text


@dataclass
class ExecutionReward:
    problems: dict[str, Problem]
    workers: int | None = None

    def rewards(self, task_ids: Sequence[str], responses: Sequence[str]) -> list[float]:
        from training.verify import verify_many

        codes = [extract_code(response).code for response in responses]
        runnable = [i for i, code in enumerate(codes) if code.strip()]  # no program: 0 without a sandbox
        verdicts = verify_many(
            [(self.problems[task_ids[i]], codes[i]) for i in runnable], workers=self.workers, progress=False
        )
        rewards = [0.0] * len(codes)
        for i, verdict in zip(runnable, verdicts, strict=True):
            rewards[i] = 1.0 if verdict.passed else 0.0
        return rewards

    def trl_reward_function(self):
        """An async TRL reward function; the dataset's `task_id` column names each prompt's problem."""

        async def execution_reward(prompts, completions, task_id, **_: Any) -> list[float]:
            responses = [completion_text(c) for c in completions]
            return await asyncio.to_thread(self.rewards, list(task_id), responses)

        return execution_reward
