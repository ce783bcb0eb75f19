"""Drop candidates with nothing worth showing.

An empty suggestion, one made of whitespace, or a lone `)`, `;` or `}` costs a ranking slot and, shown as
ghost text, looks like a glitch; users report it as "the completion flickers and suggests nothing". This
filter drops a candidate that is empty or whitespace only, one whose text (all whitespace removed) is at
most two punctuation or operator characters, and one that would change nothing (it only retypes the
characters it replaces).
"""

from __future__ import annotations

import unicodedata

from engine.document import Completion, DocumentContext

MAX_PUNCTUATION = 2


def near_empty(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion, or None when it is empty, whitespace, a scrap of punctuation, or a no-op."""
    compact = "".join(completion.text.split())
    if not compact:
        return None
    if len(compact) <= MAX_PUNCTUATION and all(_is_punctuation(char) for char in compact):
        return None
    if completion.text == context.suffix[: completion.replace_chars]:
        return None
    return completion


def _is_punctuation(char: str) -> bool:
    """Brackets, quotes, `;` and the like, and operators (`+`, `=`); not letters, digits, `_` or emoji."""
    category = unicodedata.category(char)
    return char != "_" and (category.startswith("P") or category in ("Sm", "Sk"))
