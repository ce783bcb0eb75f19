"""A verl custom reward function: `custom_reward_function.path=<this file>` with `name=compute_score`
(one sample) or `name=compute_score_batch` (verl's batch reward manager).

verl calls it inside its workers, so it talks to a running `codescaler serve` rather than loading a model
in every worker: set `CODESCALER_ENGINE_URL` (and `CODESCALER_ENGINE_TOKEN`). The question the reward
model reads is `extra_info["question"]` when the dataset provides it, else the ground truth string.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from engine.errors import CodescalerError
from training.rl_reward import CodeReward


def _reward() -> CodeReward:
    url = os.environ.get("CODESCALER_ENGINE_URL")
    if not url:
        raise CodescalerError("set CODESCALER_ENGINE_URL to a running codescaler serve (ws://HOST:PORT)")
    return CodeReward(engine_url=url, token=os.environ.get("CODESCALER_ENGINE_TOKEN") or None)


def _question(ground_truth: Any, extra_info: Any) -> str:
    if isinstance(extra_info, dict) and isinstance(extra_info.get("question"), str):
        return extra_info["question"]
    return ground_truth if isinstance(ground_truth, str) else ""


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **_: Any,
) -> list[float]:
    infos = extra_infos if extra_infos is not None else [None] * len(solution_strs)
    questions = [_question(truth, info) for truth, info in zip(ground_truths, infos, strict=True)]
    return _reward().rewards(questions, list(solution_strs))


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **_: Any
) -> float:
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]
