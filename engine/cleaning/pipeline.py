"""The cleaning pipeline: every filter, in the order it runs.

The order matters:

1. `garbled` first: no later filter should reason about characters the model never meant (a U+FFFD
   from a token cut inside a character, stray control characters).
2. `indentation` next, so that every later filter (and tree-sitter, for which Python's indentation is
   syntax) sees the completion indented like the document.
3. `scope_end` cuts what runs past the cursor's scope, leaving the scope's closing line at the end...
4. ...where `suffix_repeat` can see that it repeats the document below the cursor and cut it.
5. `repetition` then cuts loops in what is left (most runaway text is already gone).
6. `trim` cleans the whitespace the cuts left at the ends.
7. `auto_closing` needs the completion's true last characters, so it runs after trimming.
8. `near_empty` last: it drops whatever the filters before it reduced to nothing.

`dedupe` then runs over the survivors, comparing completions as cleaned.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.cleaning.auto_closing import auto_closing
from engine.cleaning.common import ItemFilter, ListFilter
from engine.cleaning.dedupe import dedupe
from engine.cleaning.garbled import garbled
from engine.cleaning.indentation import indentation
from engine.cleaning.near_empty import near_empty
from engine.cleaning.repetition import repetition
from engine.cleaning.scope_end import scope_end
from engine.cleaning.suffix_repeat import suffix_repeat
from engine.cleaning.trim import trim
from engine.document import Completion, DocumentContext

ITEM_FILTERS: tuple[tuple[str, ItemFilter], ...] = (
    ("garbled", garbled),
    ("indentation", indentation),
    ("scope_end", scope_end),
    ("suffix_repeat", suffix_repeat),
    ("repetition", repetition),
    ("trim", trim),
    ("auto_closing", auto_closing),
    ("near_empty", near_empty),
)
LIST_FILTERS: tuple[tuple[str, ListFilter], ...] = (("dedupe", dedupe),)


@dataclass(frozen=True)
class CleaningResult:
    """The surviving completions (input order) and how many each filter dropped, by filter name."""

    completions: list[Completion]
    dropped: dict[str, int]


def clean(completions: list[Completion], context: DocumentContext) -> CleaningResult:
    """Run every item filter over each completion, then the list filters over the survivors."""
    dropped = {name: 0 for name, _ in (*ITEM_FILTERS, *LIST_FILTERS)}
    survivors = []
    for completion in completions:
        cleaned = clean_one(completion, context, dropped)
        if cleaned is not None:
            survivors.append(cleaned)
    for name, list_filter in LIST_FILTERS:
        before = len(survivors)
        survivors = list_filter(survivors, context)
        dropped[name] += before - len(survivors)
    return CleaningResult(survivors, dropped)


def clean_one(completion: Completion, context: DocumentContext, dropped: dict[str, int]) -> Completion | None:
    """One completion through the item filters; a drop is counted in `dropped` under the filter's name."""
    for name, item_filter in ITEM_FILTERS:
        cleaned = item_filter(completion, context)
        if cleaned is None:
            dropped[name] += 1
            return None
        completion = cleaned
    return completion
