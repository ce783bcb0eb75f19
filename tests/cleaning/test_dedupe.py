"""dedupe: golden cases, plus what the comparison ignores and what it does not."""

from __future__ import annotations

import pytest

from engine.cleaning.dedupe import dedupe, inserted_region
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import load_list_cases, params


@pytest.mark.parametrize("case", params(load_list_cases("dedupe")))
def test_golden(case):
    result = dedupe(case.completions, case.context)
    assert result == [case.completions[position] for position in case.kept], case.description


def test_the_region_ends_with_the_completions_last_line():
    context = DocumentContext.at_marker("f(║)\nnext()\n", "║", "python")
    assert inserted_region(Completion("a"), context) == "a)"
    assert inserted_region(Completion("a)", replace_chars=1), context) == "a)"
    assert inserted_region(Completion("a\n"), context) == "a\n)"


def test_text_after_the_cursor_line_does_not_make_completions_differ():
    context = DocumentContext.at_marker("x = ║\nprint(x)\n", "║", "python")
    first, second = Completion("1", index=0), Completion("1\n", index=1)
    assert dedupe([first, second], context) == [first]


def test_the_same_object_twice_is_kept_once():
    context = DocumentContext.at_marker("x = ║\n", "║", "python")
    same = Completion("1")
    assert dedupe([same, same], context) == [same]
    assert dedupe([], context) == []
