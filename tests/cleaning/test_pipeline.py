"""The composed pipeline: golden cases end to end, the filter order, and the dropped counts."""

from __future__ import annotations

import pytest

from engine.cleaning.pipeline import ITEM_FILTERS, LIST_FILTERS, CleaningResult, clean
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params

FILTER_NAMES = [name for name, _ in (*ITEM_FILTERS, *LIST_FILTERS)]


@pytest.mark.parametrize("case", params(load_cases("pipeline", pipeline=True)))
def test_golden(case):
    result = clean([case.completion], case.context)
    check(case, result.completions[0] if result.completions else None)
    if case.dropped_by is not None:
        assert case.dropped_by in FILTER_NAMES, f"{case.name}: unknown filter {case.dropped_by!r}"
        assert result.dropped == {name: int(name == case.dropped_by) for name in FILTER_NAMES}


def test_the_order_is_the_documented_one():
    assert FILTER_NAMES == [
        "garbled",
        "indentation",
        "scope_end",
        "suffix_repeat",
        "repetition",
        "trim",
        "auto_closing",
        "near_empty",
        "dedupe",
    ]


def test_dropped_counts_per_filter_and_survivors_in_input_order():
    context = DocumentContext.at_marker("def add(a, b):\n    return ║\n\nprint(add(1, 2))\n", "║", "python")
    completions = [
        Completion("a + b\n\ndef other():\n    pass", index=0),  # cut by scope_end, survives
        Completion("   \n", index=1),  # near_empty
        Completion("b + a", index=2),  # survives
        Completion("a + b\n", index=3),  # duplicate of index 0 once cleaned
        Completion("a + b\n    return a + b\n    return a + b", index=4),  # repetition: only a loop
        Completion(")", index=5),  # near_empty
        Completion("\n\nprint(add(1, 2))", index=6),  # suffix_repeat: only the next line again
        Completion("\x00\x07", index=7),  # cut to nothing by garbled, then near_empty
        Completion("a * b\ufffd", index=8),  # cut by garbled, survives
    ]
    result = clean(completions, context)
    assert isinstance(result, CleaningResult)
    assert [(c.index, c.text) for c in result.completions] == [(0, "a + b"), (2, "b + a"), (8, "a * b")]
    assert result.dropped == {
        "garbled": 0,
        "indentation": 0,
        "scope_end": 0,
        "suffix_repeat": 1,
        "repetition": 1,
        "trim": 0,
        "auto_closing": 0,
        "near_empty": 3,
        "dedupe": 1,
    }


def test_dedupe_compares_cleaned_completions():
    context = DocumentContext.at_marker("total = sum(║)\n", "║", "python")
    result = clean([Completion("xs)\n", index=0), Completion("xs", index=1)], context)
    assert [(c.text, c.replace_chars) for c in result.completions] == [("xs)", 1)]
    assert result.dropped["dedupe"] == 1


def test_nothing_in_nothing_out():
    result = clean([], DocumentContext.at_marker("║", "║"))
    assert result.completions == []
    assert set(result.dropped) == set(FILTER_NAMES)
    assert not any(result.dropped.values())
