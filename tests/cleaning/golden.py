"""Golden cases for the cleaning filters, one TOML file per case under `golden/<filter>/`.

An item-filter case (and a pipeline case) reads:

    description = "python: stops at the end of the function body"
    language = "python"                # optional
    path = "src/app.py"                # optional
    document = '''...║...'''           # the cursor marked by ║
    completion = '''...'''             # the raw completion
    completion_replace_chars = 0       # optional: the raw completion's replace_chars
    expected = '''...'''               # the text after the filter, or instead:
    dropped = true                     # the filter drops the candidate
    replace_chars = 0                  # optional: the expected replace_chars
    dropped_by = "scope_end"           # pipeline cases only, optional: which filter drops it

A list-filter case (dedupe) has `completions` (a list of texts) instead of `completion`, optional
`completion_replace_chars` and `indexes` lists alongside, and `kept`: the positions that survive.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.cleaning.common import ItemFilter
from engine.document import Completion, DocumentContext

CURSOR = "║"
GOLDEN = Path(__file__).parent / "golden"

_COMMON_KEYS = {"description", "language", "path", "document"}
_ITEM_KEYS = _COMMON_KEYS | {"completion", "completion_replace_chars", "expected", "dropped", "replace_chars"}
_PIPELINE_KEYS = _ITEM_KEYS | {"dropped_by"}
_LIST_KEYS = _COMMON_KEYS | {"completions", "completion_replace_chars", "indexes", "kept"}


@dataclass(frozen=True)
class GoldenCase:
    """One document, one raw completion, and what a filter must make of it (`expected` None: dropped)."""

    name: str
    description: str
    context: DocumentContext
    completion: Completion
    expected: str | None
    replace_chars: int | None
    dropped_by: str | None = None

    @property
    def unchanged(self) -> bool:
        """Whether the case expects the completion to come out exactly as it went in."""
        same_range = self.replace_chars in (None, self.completion.replace_chars)
        return self.expected == self.completion.text and same_range


@dataclass(frozen=True)
class GoldenListCase:
    """One document, several raw completions, and the positions a list filter keeps."""

    name: str
    description: str
    context: DocumentContext
    completions: list[Completion]
    kept: list[int]


def folder(name: str) -> Path:
    return GOLDEN / name


def load_cases(name: str, *, pipeline: bool = False) -> list[GoldenCase]:
    """Every item-filter case in `golden/<name>/`, sorted by file name."""
    return [_item_case(path, pipeline) for path in _paths(name)]


def load_list_cases(name: str) -> list[GoldenListCase]:
    """Every list-filter case in `golden/<name>/`, sorted by file name."""
    return [_list_case(path) for path in _paths(name)]


def params(cases: list[GoldenCase] | list[GoldenListCase]) -> list:
    """`cases` as pytest parameters named after their files."""
    return [pytest.param(case, id=case.name) for case in cases]


def run_case(item_filter: ItemFilter, case: GoldenCase) -> Completion | None:
    return item_filter(case.completion, case.context)


def check(case: GoldenCase, result: Completion | None) -> None:
    """Assert that `result` is what `case` expects, with the description in the failure message."""
    if case.expected is None:
        assert result is None, f"{case.description}: expected a drop, got {result!r}"
        return
    assert result is not None, f"{case.description}: dropped, expected {case.expected!r}"
    assert result.text == case.expected, case.description
    if case.replace_chars is not None:
        assert result.replace_chars == case.replace_chars, case.description


def _paths(name: str) -> list[Path]:
    paths = sorted(folder(name).glob("*.toml"))
    if not paths:
        raise FileNotFoundError(f"no golden cases in {folder(name)}")
    return paths


def _read(path: Path, allowed: set[str]) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    return data


def _context(data: dict) -> DocumentContext:
    return DocumentContext.at_marker(data["document"], CURSOR, data.get("language"), data.get("path"))


def _item_case(path: Path, pipeline: bool) -> GoldenCase:
    data = _read(path, _PIPELINE_KEYS if pipeline else _ITEM_KEYS)
    dropped = data.get("dropped", False)
    if dropped == ("expected" in data):
        raise ValueError(f"{path}: give exactly one of `expected` and `dropped = true`")
    return GoldenCase(
        name=path.stem,
        description=data["description"],
        context=_context(data),
        completion=Completion(data["completion"], data.get("completion_replace_chars", 0)),
        expected=None if dropped else data["expected"],
        replace_chars=data.get("replace_chars"),
        dropped_by=data.get("dropped_by"),
    )


def _list_case(path: Path) -> GoldenListCase:
    data = _read(path, _LIST_KEYS)
    texts = data["completions"]
    ranges = data.get("completion_replace_chars", [0] * len(texts))
    indexes = data.get("indexes", list(range(len(texts))))
    if not len(texts) == len(ranges) == len(indexes):
        raise ValueError(f"{path}: completions, completion_replace_chars and indexes differ in length")
    completions = [
        Completion(text, replace_chars, index=index)
        for text, replace_chars, index in zip(texts, ranges, indexes, strict=True)
    ]
    return GoldenListCase(path.stem, data["description"], _context(data), completions, data["kept"])
