"""The slice of a document the policy sees: prefix and suffix windows cut at line boundaries.

Long files do not fit a prompt, and a window that starts mid-line confuses a code model more than a
shorter one. The prefix keeps the lines nearest the cursor (the cursor line's own text is always kept),
the suffix likewise from the cursor down, each within its token budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """The prefix and suffix given to the model, and how many characters of each were left out."""

    prefix: str
    suffix: str
    prefix_chars_dropped: int = 0
    suffix_chars_dropped: int = 0


def _keep_lines(lines: list[str], budget: int, count: Callable[[str], int]) -> int:
    """How many of `lines` (nearest first) fit in `budget` tokens; the first is always kept."""
    used, kept = 0, 0
    for line in lines:
        used += count(line)
        if kept and used > budget:
            break
        kept += 1
    return kept


def context_window(
    prefix: str,
    suffix: str,
    count_tokens: Callable[[str], int],
    prefix_tokens: int = 1536,
    suffix_tokens: int = 512,
) -> Window:
    """Cut `prefix` from the top and `suffix` from the bottom, at line boundaries, to fit their budgets."""
    prefix_lines = prefix.split("\n")
    keep = _keep_lines([line + "\n" for line in reversed(prefix_lines)], prefix_tokens, count_tokens)
    kept_prefix = "\n".join(prefix_lines[len(prefix_lines) - keep :])
    suffix_lines = suffix.split("\n")
    keep = (
        _keep_lines([line + "\n" for line in suffix_lines], suffix_tokens, count_tokens)
        if suffix_tokens
        else 0
    )
    kept_suffix = "\n".join(suffix_lines[:keep])
    return Window(kept_prefix, kept_suffix, len(prefix) - len(kept_prefix), len(suffix) - len(kept_suffix))
