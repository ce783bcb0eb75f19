"""Mixing completion pairs (`curate --fim`, editor feedback) with whole-program pairs for `train-rm`.

The reward model serves two inputs: a problem with a whole program (`score`, best-of-N) and the code
around a cursor with the unit a fill lands in (the editor). Trained on one it is untested on the other,
so both go in; `completion_share` says how much of the training rows the completion pairs make up. Every
pair is kept; pairs of the side that falls short are repeated (drawn with a seed) until the share holds.
"""

from __future__ import annotations

import random

from engine.errors import CodescalerError
from training.data.pairs import EDITOR_FIELDS, Pair


def is_completion_pair(pair: Pair) -> bool:
    return pair.names == EDITOR_FIELDS or pair.provenance.get("kind") == "fim"


def mix(pairs: list[Pair], completion_share: float | None, seed: int) -> list[Pair]:
    """`pairs` as they are (share None), or resampled so completion pairs are `completion_share` of them."""
    if completion_share is None:
        return pairs
    if not 0 <= completion_share <= 1:
        raise CodescalerError(f"--completion-share must be within 0..1, not {completion_share}")
    completion = [pair for pair in pairs if is_completion_pair(pair)]
    program = [pair for pair in pairs if not is_completion_pair(pair)]
    if completion_share in (0, 1):
        return program if completion_share == 0 else completion
    if not completion or not program:
        kind = "completion pairs (curate --fim)" if not completion else "whole-program pairs (curate)"
        raise CodescalerError(
            f"--completion-share mixes two kinds of pair, and the --pairs files hold no {kind}"
        )
    rng = random.Random(seed)
    wanted = round(completion_share / (1 - completion_share) * len(program))
    if wanted >= len(completion):  # completion pairs are short: repeat some of them
        return program + completion + rng.choices(completion, k=wanted - len(completion))
    wanted = round((1 - completion_share) / completion_share * len(completion))
    return program + rng.choices(program, k=wanted - len(program)) + completion
