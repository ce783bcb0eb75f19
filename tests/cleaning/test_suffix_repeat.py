"""suffix_repeat: golden cases, plus the edges of what counts as a repeat."""

from __future__ import annotations

import pytest

from engine.cleaning.suffix_repeat import suffix_repeat
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case


@pytest.mark.parametrize("case", params(load_cases("suffix_repeat")))
def test_golden(case):
    check(case, run_case(suffix_repeat, case))


def test_nothing_below_the_cursor_line_means_nothing_to_repeat():
    context = DocumentContext.at_marker("x = 1\ny = ║", "║", "python")
    completion = Completion("2\nx = 1")
    assert suffix_repeat(completion, context) is completion


def test_the_longest_repeated_tail_is_cut():
    context = DocumentContext.at_marker("def f():\n    ║\n    b()\n    c()\n", "║", "python")
    result = suffix_repeat(Completion("a()\n    b()\n    c()"), context)
    assert result.text == "a()"


def test_a_shorter_tail_is_cut_when_the_longer_one_closes_the_completions_own_bracket():
    context = DocumentContext.at_marker("function f() {\n  if (x) {\n    ║\n  }\n}\n", "║", "javascript")
    completion = Completion("for (const y of x) {\n      g(y);\n    }\n  }")
    assert suffix_repeat(completion, context).text == "for (const y of x) {\n      g(y);\n    }"


def test_a_cut_keeps_the_widened_replace_range():
    context = DocumentContext.at_marker("a(║)\nb(1)\n", "║", "python")
    result = suffix_repeat(Completion("0)\nb(1)", replace_chars=1), context)
    assert (result.text, result.replace_chars) == ("0)", 1)
