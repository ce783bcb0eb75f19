"""scope_end: golden cases, plus the rules that keep it conservative."""

from __future__ import annotations

import pytest

from engine.cleaning.scope_end import SCOPES, scope_end
from engine.document import Completion, DocumentContext
from engine.syntax.languages import grammar
from tests.cleaning.golden import check, load_cases, params, run_case


@pytest.mark.parametrize("case", params(load_cases("scope_end")))
def test_golden(case):
    check(case, run_case(scope_end, case))


@pytest.mark.parametrize("language", sorted(SCOPES))
def test_scope_node_types_exist_in_the_grammar(language):
    known = grammar(language)
    for node_type, owners in SCOPES[language].items():
        for name in (node_type, *(owners or ())):
            assert known.id_for_node_kind(name, True) is not None, f"{language}: no node type {name!r}"


def test_a_scope_ending_inside_the_first_line_is_not_cut():
    context = DocumentContext.at_marker("function id(x) { return ║ }\n", "║", "javascript")
    completion = Completion("x; } other();\nmore();")
    assert scope_end(completion, context) is completion


def test_a_scope_ending_with_the_first_line_cuts_the_lines_after_it():
    context = DocumentContext.at_marker("def f():\n    return ║\n", "║", "python")
    completion = Completion("1; x = 2\n\nprint(f())")
    assert scope_end(completion, context).text == "1; x = 2"


def test_blank_text_after_the_scope_is_no_reason_to_cut():
    context = DocumentContext.at_marker("function f() {\n  return ║\n", "║", "javascript")
    completion = Completion("1;\n}\n\n")
    assert scope_end(completion, context) is completion


def test_a_broken_scope_falls_back_to_indentation():
    # The body has a syntax error, so tree-sitter's idea of where it ends is not trusted; the indentation
    # rule cuts before the first line left of `return` (tree-sitter would have kept `1;`).
    context = DocumentContext.at_marker("function f() {\n  let x = = 1;\n  return ║\n", "║", "javascript")
    completion = Completion("x +\n1;\n}")
    assert scope_end(completion, context).text == "x +"


def test_without_a_grammar_a_line_starting_with_a_closer_is_doubt_so_nothing_is_cut():
    context = DocumentContext.at_marker("if (x) {\n  ║\n", "║", None, "build.gradle")
    completion = Completion("a()\n} else {\n  b()\n}")
    assert scope_end(completion, context) is completion


def test_replace_chars_and_metadata_survive_a_cut():
    context = DocumentContext.at_marker("def f():\n    return g(║)\n", "║", "python")
    completion = Completion("1)\n\nprint(2)", replace_chars=1, logprobs=(-0.5,), index=3)
    result = scope_end(completion, context)
    assert (result.text, result.replace_chars, result.logprobs, result.index) == ("1)", 1, (-0.5,), 3)
