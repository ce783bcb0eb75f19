"""The golden cases cover what they must: every filter, its languages, a no-op case, and non-ASCII text."""

from __future__ import annotations

import inspect

import pytest

from engine.cleaning.pipeline import ITEM_FILTERS, LIST_FILTERS
from tests.cleaning.golden import GOLDEN, load_cases, load_list_cases

ITEM_NAMES = [name for name, _ in ITEM_FILTERS]
LIST_NAMES = [name for name, _ in LIST_FILTERS]
BRACE_LANGUAGES = {"javascript", "typescript", "tsx", "go", "rust", "java", "cpp"}


def summary(name: str) -> list[tuple[str | None, bool, str]]:
    """(language, leaves the input unchanged, all text) per golden case of `name`."""
    if name in LIST_NAMES:
        return [
            (
                case.context.language,
                case.kept == list(range(len(case.completions))),
                case.context.text + "".join(c.text for c in case.completions),
            )
            for case in load_list_cases(name)
        ]
    cases = load_cases(name, pipeline=name == "pipeline")
    return [
        (
            case.context.language,
            case.unchanged,
            case.context.text + case.completion.text + (case.expected or ""),
        )
        for case in cases
    ]


def test_every_golden_folder_belongs_to_a_filter_or_the_pipeline():
    folders = {path.name for path in GOLDEN.iterdir() if path.is_dir()}
    assert folders == {*ITEM_NAMES, *LIST_NAMES, "pipeline"}


@pytest.mark.parametrize("name", [*ITEM_NAMES, *LIST_NAMES, "pipeline"])
def test_each_filter_has_enough_varied_golden_cases(name):
    cases = summary(name)
    assert len(cases) >= 4
    languages = {language for language, _, _ in cases}
    assert "python" in languages
    assert languages & BRACE_LANGUAGES
    assert any(unchanged for _, unchanged, _ in cases), "no case where the input must come out unchanged"
    assert any(not unchanged for _, unchanged, _ in cases), "no case where the filter acts"
    assert any(not text.isascii() for _, _, text in cases), "no case with non-ASCII text"


@pytest.mark.parametrize(("name", "function"), [*ITEM_FILTERS, *LIST_FILTERS])
def test_each_filter_says_why_it_exists(name, function):
    module = inspect.getmodule(function)
    assert module.__name__ == f"engine.cleaning.{name}"
    assert function.__name__ == name
    assert len(module.__doc__ or "") > 200
    assert function.__doc__
