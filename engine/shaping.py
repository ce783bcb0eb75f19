"""Validity-preserving reward shaping (the ranking itself is engine/ranking.py).

CodeScaler's shaping maps a raw reward-model score `s` of a valid, non-empty program to `softplus(s)`,
which is positive, and gives invalid or empty code exactly 0. Every valid program therefore outranks every
malformed one, while the order among valid programs is the model's own (softplus is monotone).

`raw` mode is the ablation without shaping: every candidate, malformed or empty, is scored by the model and
ranked by its raw score.
"""

from __future__ import annotations

import math

from engine.protocol import ShapingMode


def softplus(score: float) -> float:
    """log(1 + e^score), exact for any finite score (no overflow for large, no 0 for very negative)."""
    return max(score, 0.0) + math.log1p(math.exp(-abs(score)))


def shaped_reward(score: float | None, valid: bool, mode: ShapingMode = "softplus") -> float:
    """The reward of one candidate from its raw score and its validity.

    In `softplus` mode an invalid candidate needs no score (pass None): it was never sent to the model.
    """
    if mode == "raw":
        if score is None:
            raise ValueError("raw shaping needs a score for every candidate")
        return score
    if mode != "softplus":
        raise ValueError(f"unknown shaping mode {mode!r}: use 'softplus' or 'raw'")
    if not valid:
        return 0.0
    if score is None:
        raise ValueError("a valid candidate needs a reward-model score")
    return softplus(score)


def needs_score(valid: bool, mode: ShapingMode = "softplus") -> bool:
    """Whether a candidate must go through the reward model under `mode`."""
    return valid or mode == "raw"
