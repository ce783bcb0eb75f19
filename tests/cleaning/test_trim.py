"""trim: golden cases, plus each whitespace rule on its own."""

from __future__ import annotations

import pytest

from engine.cleaning.trim import trim
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case


@pytest.mark.parametrize("case", params(load_cases("trim")))
def test_golden(case):
    check(case, run_case(trim, case))


def at(document: str) -> DocumentContext:
    return DocumentContext.at_marker(document, "║", "python")


def test_inner_blank_lines_are_kept():
    assert trim(Completion("a()\n\n    b()\n\n"), at("def f():\n    ║\n")).text == "a()\n\n    b()"


def test_indentation_at_the_start_of_a_line_is_kept():
    completion = Completion("    x = 1")
    assert trim(completion, at("def f():\n║\n")) is completion


def test_a_cursor_after_code_without_a_space_keeps_the_leading_space():
    completion = Completion(" else 0")
    assert trim(completion, at("y = 1 if x║\n")) is completion


def test_whitespace_only_becomes_empty_and_is_not_dropped_here():
    result = trim(Completion("  \n\n"), at("x = ║\n"))
    assert result is not None
    assert result.text == ""


def test_the_rest_of_the_line_is_read_after_the_replaced_characters():
    # `)` is replaced; what follows the completion is ` + 1`, which starts with a space.
    result = trim(Completion("a) ", replace_chars=1), at("f(║) + 1\n"))
    assert (result.text, result.replace_chars) == ("a)", 1)
