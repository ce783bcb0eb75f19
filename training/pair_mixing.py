"""Mixing the kinds of pair `train-rm` takes: whole-program, completion and editor-feedback pairs.

The reward model serves two inputs: a problem with a whole program (`score`, best-of-N) and the code
around a cursor with the unit a fill lands in (the editor). Trained on one it is untested on the other,
so both go in; `completion_share` says how much of the execution-verified rows the completion pairs
(`curate --fim`) make up.

Pairs from what users accepted (`feedback pairs`, kind "feedback") are a third kind. Published work on
completion logs warns that training on acceptance alone lowers quality (acceptance rewards what is short
and familiar, not what is correct), so they are mixed into execution-verified pairs at `feedback_share`
of the rows (default 0.25), and refused on their own unless the share is 1, asked for outright.

Every pair is kept; pairs of the side that falls short are repeated (drawn with a seed) until a share
holds.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from engine.errors import CodescalerError
from training.data.pairs import EDITOR_FIELDS, Pair

DEFAULT_FEEDBACK_SHARE = 0.25


def is_feedback_pair(pair: Pair) -> bool:
    return pair.provenance.get("kind") == "feedback"


def is_completion_pair(pair: Pair) -> bool:
    """An execution-verified pair at a cursor (feedback pairs have the same fields but are not)."""
    return not is_feedback_pair(pair) and (
        pair.names == EDITOR_FIELDS or pair.provenance.get("kind") == "fim"
    )


def _share(
    pairs: list[Pair],
    share: float,
    is_kind: Callable[[Pair], bool],
    rng: random.Random,
    flag: str,
    kinds: tuple[str, str],
) -> list[Pair]:
    """`pairs` resampled so those of `is_kind` are `share` of them; `kinds` names (that kind, the rest)."""
    if not 0 <= share <= 1:
        raise CodescalerError(f"{flag} must be within 0..1, not {share}")
    chosen = [pair for pair in pairs if is_kind(pair)]
    rest = [pair for pair in pairs if not is_kind(pair)]
    if share in (0, 1):
        return rest if share == 0 else chosen
    if not chosen or not rest:
        missing = kinds[0] if not chosen else kinds[1]
        raise CodescalerError(f"{flag} mixes two kinds of pair, and the --pairs files hold no {missing}")
    wanted = round(share / (1 - share) * len(rest))
    if wanted >= len(chosen):  # the kind is short: repeat some of it
        return rest + chosen + rng.choices(chosen, k=wanted - len(chosen))
    wanted = round((1 - share) / share * len(chosen))
    return rest + rng.choices(rest, k=wanted - len(rest)) + chosen


def mix(
    pairs: list[Pair], completion_share: float | None, seed: int, feedback_share: float | None = None
) -> list[Pair]:
    """`pairs` resampled to the shares asked for (None: completion pairs as they come, feedback pairs at
    the default share)."""
    rng = random.Random(seed)
    feedback = [pair for pair in pairs if is_feedback_pair(pair)]
    verified = [pair for pair in pairs if not is_feedback_pair(pair)]
    if completion_share is not None:
        kinds = ("completion pairs (curate --fim)", "whole-program pairs (curate)")
        verified = _share(verified, completion_share, is_completion_pair, rng, "--completion-share", kinds)
    if not feedback:
        if feedback_share:
            raise CodescalerError("--feedback-share is set, and the --pairs files hold no feedback pairs")
        return verified
    share = DEFAULT_FEEDBACK_SHARE if feedback_share is None else feedback_share
    if not verified and share != 1:
        raise CodescalerError(
            "feedback pairs alone lower quality (acceptance is not correctness): add execution-verified "
            "pairs (curate, curate --fim) to --pairs, or pass --feedback-share 1 to train on them alone"
        )
    kinds = ("feedback pairs (feedback pairs)", "execution-verified pairs (curate, curate --fim)")
    return _share(verified + feedback, share, is_feedback_pair, rng, "--feedback-share", kinds)
