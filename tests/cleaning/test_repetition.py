"""repetition: golden cases, plus the thresholds and what never counts as a loop."""

from __future__ import annotations

import pytest

from engine.cleaning.repetition import repetition
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case

CONTEXT = DocumentContext.at_marker("║", "║", "python")


@pytest.mark.parametrize("case", params(load_cases("repetition")))
def test_golden(case):
    check(case, run_case(repetition, case))


def test_three_in_a_row_is_a_loop_but_two_is_not():
    assert repetition(Completion("a = 1\nb()\nb()\nb()"), CONTEXT).text == "a = 1\nb()"
    two = Completion("a = 1\nb()\nb()")
    assert repetition(two, CONTEXT) is two


def test_repeats_must_be_back_to_back():
    completion = Completion("b()\nc()\nb()\nd()\nb()")
    assert repetition(completion, CONTEXT) is completion


def test_blocks_longer_than_four_lines_are_not_looked_for():
    block = "a()\nb()\nc()\nd()\ne()"
    completion = Completion("\n".join([block] * 3))
    assert repetition(completion, CONTEXT) is completion


def test_a_loop_followed_by_other_code_keeps_the_lines_before_it():
    result = repetition(Completion("x()\ny()\ny()\ny()\nz()"), CONTEXT)
    assert result.text == "x()\ny()"


def test_a_loop_at_the_start_followed_by_other_code_is_cut_not_dropped():
    result = repetition(Completion("y()\ny()\ny()\nz()"), CONTEXT)
    assert result.text == "y()"


def test_punctuation_only_lines_are_never_a_loop():
    completion = Completion("x = [[\n]]\n]]\n]]")
    assert repetition(completion, CONTEXT) is completion


def test_the_cursor_lines_text_counts_for_the_first_line():
    context = DocumentContext.at_marker("def f():\n    ║", "║", "python")
    assert repetition(Completion("g()\n    g()\n    g()"), context) is None
