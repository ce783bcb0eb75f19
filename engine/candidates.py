"""Candidates for one question, from raw rows to ranked, shaped rewards.

This is the scoring path shared by `codescaler score`, serving and evaluation: check each program's
syntax in its language, send only the candidates that need it to the reward model, shape, and rank.

A candidate whose language is unknown is not guessed at: it is reported as unchecked (`valid` is None)
and scored as if valid, since nothing says it is malformed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, string_field
from engine.protocol import Candidate, ScoredCandidate, ShapingMode
from engine.ranking import ranks
from engine.reward.formatter import RewardInput
from engine.reward.scorer import RewardQuery, RewardScorer
from engine.shaping import needs_score, shaped_reward
from engine.syntax.extraction import extract_code
from engine.syntax.languages import language_for_path
from engine.syntax.validity import SyntaxCheck, check_syntax


@dataclass(frozen=True)
class ShapedScore:
    """A candidate's raw score (None when it never reached the model), its shaped reward, and what the
    reward model's token budget cut from its input."""

    score: float | None
    reward: float
    cut: RewardInput | None = None


def score_gated(
    scorer: RewardScorer,
    queries: Sequence[RewardQuery],
    checks: Sequence[SyntaxCheck],
    shaping: ShapingMode = "softplus",
) -> list[ShapedScore]:
    """Score only the candidates the shaping needs scored (in one call), then shape every one."""
    to_score = [i for i, check in enumerate(checks) if needs_score(check.valid is not False, shaping)]
    inputs = scorer.format([queries[i] for i in to_score])
    raw = dict(zip(to_score, scorer.score_inputs(inputs), strict=True))
    cuts = dict(zip(to_score, inputs, strict=True))
    return [
        ShapedScore(raw.get(i), shaped_reward(raw.get(i), check.valid is not False, shaping), cuts.get(i))
        for i, check in enumerate(checks)
    ]


def score_candidates(
    scorer: RewardScorer,
    question: str,
    candidates: Sequence[Candidate],
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


def read_candidates(path: Path | str, language: str | None, extraction: str) -> list[Candidate]:
    """Candidate rows: `{"response": ...}` (code extracted) or `{"code": ...}` (as is).

    A row's language is its `language` field, else the extension of its `path` field, else the response's
    fence tag, else `language` (the command's default).
    """
    candidates = []
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        if ("response" in row) == ("code" in row):
            raise CodescalerError(f"{where}: a row needs exactly one of 'response' or 'code'")
        named = string_field(row, "language", where, required=False) or language_for_path(
            string_field(row, "path", where, required=False)
        )
        if "response" in row:
            extracted = extract_code(string_field(row, "response", where) or "", extraction)  # type: ignore[arg-type]
            candidates.append(Candidate(code=extracted.code, language=named or extracted.tag or language))
        else:
            candidates.append(
                Candidate(code=string_field(row, "code", where) or "", language=named or language)
            )
    if not candidates:
        raise CodescalerError(f"{path}: no candidates (the file is empty)")
    return candidates
