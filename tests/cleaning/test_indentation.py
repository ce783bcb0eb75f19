"""indentation: golden cases, plus unit detection and the duplicated-indentation rule."""

from __future__ import annotations

import pytest

from engine.cleaning.indentation import document_unit, indentation
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case


@pytest.mark.parametrize("case", params(load_cases("indentation")))
def test_golden(case):
    check(case, run_case(indentation, case))


@pytest.mark.parametrize(
    ("lines", "unit"),
    [
        (["def f():", "    if x:", "        y()", "    z()"], "    "),
        (["function f() {", "  if (x) {", "    y();", "  }", "}"], "  "),
        (["func f() {", "\tif x {", "\t\ty()", "\t}", "}"], "\t"),
        (["x = 1", "y = 2"], None),
        # Doc-comment continuation lines step by one space; that is alignment, not a unit.
        (["/**", " * Sums.", " */", "int f() {", "  return 1;", "}"], "  "),
        # The most common step wins over an occasional hanging indent.
        (["a(", "        b)", "if x:", "    y", "    if z:", "        w"], "    "),
    ],
)
def test_document_unit(lines, unit):
    assert document_unit(lines) == unit


def test_duplicated_indentation_is_removed_only_on_an_empty_line():
    # Same indentation, but the cursor line has code after the cursor: the spaces are deliberate.
    context = DocumentContext.at_marker("def f():\n    ║x = 1\n", "║", "python")
    completion = Completion("    ")
    assert indentation(completion, context) is completion


def test_a_deeper_first_line_indentation_is_not_taken_for_a_duplicate():
    context = DocumentContext.at_marker("def f():\n    ║\n", "║", "python")
    completion = Completion("        x = 1")
    assert indentation(completion, context) is completion


def test_lines_at_the_left_margin_stay_there():
    document = "function f() {\n  if (a) {\n    b();\n  }\n  ║\n}\n"
    context = DocumentContext.at_marker(document, "║", "javascript")
    result = indentation(Completion("g(() => {\n      h();\n  });\n}\n\nfoo();"), context)
    assert result.text == "g(() => {\n    h();\n  });\n}\n\nfoo();"
