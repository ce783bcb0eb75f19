"""auto_closing: golden cases, plus the rules that keep the replace range safe."""

from __future__ import annotations

import pytest

from engine.cleaning.auto_closing import auto_closing
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case


@pytest.mark.parametrize("case", params(load_cases("auto_closing")))
def test_golden(case):
    check(case, run_case(auto_closing, case))


def at(document: str, language: str = "javascript") -> DocumentContext:
    return DocumentContext.at_marker(document, "║", language)


def test_the_range_never_shrinks():
    completion = Completion("a)]", replace_chars=2)
    assert auto_closing(completion, at("f([║)]\n")) is completion


def test_the_range_stays_on_the_cursor_line():
    context = at("f(║)\n)\n")
    result = auto_closing(Completion("a)"), context)
    assert result.replace_chars == 1
    assert result.applied_to(context) == "f(a)\n)\n"


def test_a_quote_the_completion_opens_and_closes_is_not_the_auto_closed_one():
    completion = Completion('"a"')
    assert auto_closing(completion, at('f(║")\n')) is completion


def test_brackets_in_a_comment_do_not_count():
    # Without skipping the comment, its `(` would pair with the final `)`.
    result = auto_closing(Completion("a,  # see (note\n)"), at("f(║)\n", "python"))
    assert result.replace_chars == 1


def test_a_closer_inside_a_comment_is_not_retyped():
    completion = Completion("a  # done)")
    assert auto_closing(completion, at("f(║)\n", "python")) is completion


def test_an_empty_rest_of_line_changes_nothing():
    completion = Completion("x)")
    assert auto_closing(completion, at("f(║\n")) is completion
