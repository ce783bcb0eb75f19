"""Candidates for one question, from raw rows to ranked, shaped rewards.

This is the scoring path shared by `codescaler score`, serving and evaluation: check each program's
syntax in its language, send only the candidates that need it to the reward model, shape, and rank.

A candidate whose language is unknown is not guessed at: it is reported as unchecked (`valid` is None)
and scored as if valid, since nothing says it is malformed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.reward.formatter import RewardInput
from engine.reward.scorer import Pair, RewardScorer
from engine.shaping import ShapingMode, needs_score, ranks, shaped_reward
from engine.syntax.validity import SyntaxCheck, check_syntax


@dataclass(frozen=True)
class CodeCandidate:
    """A program to score; `language` is the name as given (resolved later), None when unknown."""

    code: str
    language: str | None = None


@dataclass(frozen=True)
class ScoredCandidate:
    """A candidate after validity checking, scoring, shaping and ranking."""

    code: str
    language: str | None
    valid: bool | None
    reason: str
    score: float | None
    reward: float
    rank: int
    question_chars_cut: int = 0
    code_chars_cut: int = 0


@dataclass(frozen=True)
class Shaped:
    """A candidate's raw score (None when it never reached the model), its shaped reward, and what the
    reward model's token budget cut from its input."""

    score: float | None
    reward: float
    cut: RewardInput | None = None


def score_gated(
    scorer: RewardScorer,
    pairs: Sequence[Pair],
    checks: Sequence[SyntaxCheck],
    shaping: ShapingMode = "softplus",
) -> list[Shaped]:
    """Score only the candidates the shaping needs scored (in one call), then shape every one."""
    to_score = [i for i, check in enumerate(checks) if needs_score(check.valid is not False, shaping)]
    inputs = scorer.format([pairs[i] for i in to_score])
    raw = dict(zip(to_score, scorer.score_inputs(inputs), strict=True))
    cuts = dict(zip(to_score, inputs, strict=True))
    return [
        Shaped(raw.get(i), shaped_reward(raw.get(i), check.valid is not False, shaping), cuts.get(i))
        for i, check in enumerate(checks)
    ]


def score_candidates(
    scorer: RewardScorer,
    question: str,
    candidates: Sequence[CodeCandidate],
    shaping: ShapingMode = "softplus",
) -> list[ScoredCandidate]:
    """Score, shape and rank `candidates` for `question`, in input order (rank 1 = best)."""
    checks = [check_syntax(c.code, c.language) for c in candidates]
    shaped = score_gated(scorer, [(question, c.code) for c in candidates], checks, shaping)
    results = []
    for candidate, check, one, rank in zip(
        candidates, checks, shaped, ranks([x.reward for x in shaped]), strict=True
    ):
        results.append(
            ScoredCandidate(
                code=candidate.code,
                language=check.language,
                valid=check.valid,
                reason=check.reason,
                score=one.score,
                reward=one.reward,
                rank=rank,
                question_chars_cut=one.cut.question_chars_cut if one.cut else 0,
                code_chars_cut=one.cut.code_chars_cut if one.cut else 0,
            )
        )
    return results
