"""Is an output right? The comparison rules for printed output (stdio tests) and returned values (call
tests), applied outside the sandbox to plain data.

Returned values arrive as `harness.plain` made them: JSON data where tuples are lists and every JSON object
is a one-key marker for a dict, set, complex number, huge int or other object. Expected values go through
`plain` too, so both sides have the same shape.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from itertools import zip_longest
from typing import Any

DETAIL_CHARS = 120


def stdout_mismatch(expected: str, actual: str, atol: float) -> str | None:
    """None when `actual` matches `expected`, else where it differs. Lines are compared with trailing
    whitespace stripped and trailing blank lines ignored; lines that differ as text still match when their
    whitespace-separated tokens do, tokens that both parse as floats being equal within `atol` (the
    LiveCodeBench / TACO rule, so "1.0" matches "1" and "0.333333" matches "0.3333333" when atol allows)."""
    for number, (want, got) in enumerate(zip_longest(_lines(expected), _lines(actual)), start=1):
        if want is None:
            return f"line {number}: unexpected extra output {shorten(got)!r}"
        if got is None:
            return f"line {number}: expected {shorten(want)!r}, got no more output"
        if want != got and not _tokens_match(want, got, atol):
            return f"line {number}: expected {shorten(want)!r}, got {shorten(got)!r}"
    return None


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _tokens_match(want: str, got: str, atol: float) -> bool:
    wanted, gotten = want.split(), got.split()
    return len(wanted) == len(gotten) and all(
        w == g or _floats_close(w, g, atol) for w, g in zip(wanted, gotten, strict=True)
    )


def _floats_close(want: str, got: str, atol: float) -> bool:
    try:
        a, b = float(want), float(got)
    except ValueError:
        return False
    return a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol)


def values_match(expected: Any, actual: Any, atol: float) -> bool:
    """`expected == actual` for plain data: numbers by value (floats within `atol`, NaN equal to NaN, so
    1 == 1.0 == True as in Python), lists item by item (a tuple equals a list with equal items), sets and
    dicts regardless of order; a set also equals a list holding the same items (JSON has no sets)."""
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            values_match(e, a, atol) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) or isinstance(actual, dict):
        return _markers_match(expected, actual, atol)
    if _number(expected) and _number(actual):
        if expected == actual:
            return True
        if not (isinstance(expected, float) or isinstance(actual, float)):
            return False
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        return abs(expected - actual) <= atol
    return type(expected) is type(actual) and expected == actual


def _number(value: Any) -> bool:
    return isinstance(value, int | float)


def _markers_match(expected: Any, actual: Any, atol: float) -> bool:
    want, got = _marker(expected), _marker(actual)
    kinds = {want[0], got[0]}
    if "__set__" in kinds and kinds <= {"__set__", "list"}:
        return _same_items(want[1], got[1], atol)
    if want[0] != got[0]:
        return False
    kind = want[0]
    if kind == "__dict__":
        return len(want[1]) == len(got[1]) and _same_items(want[1], got[1], atol)
    if kind == "__complex__":
        return values_match(want[1], got[1], atol)
    return want[1] == got[1]  # __int__ (hex text), __repr__ (text)


def _marker(value: Any) -> tuple[str, Any]:
    if isinstance(value, list):
        return "list", value
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.items()))
    return "value", value


def _same_items(want: list[Any], got: list[Any], atol: float) -> bool:
    """Multiset equality: exact items by their canonical JSON, the rest paired greedily within atol."""
    if len(want) != len(got):
        return False
    left = Counter(_canonical(item) for item in want)
    left.subtract(_canonical(item) for item in got)
    if not any(left.values()):
        return True
    if atol == 0:
        return False
    unmatched = list(got)
    for item in want:
        match = next((i for i, other in enumerate(unmatched) if values_match(item, other, atol)), None)
        if match is None:
            return False
        unmatched.pop(match)
    return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def show(value: Any) -> str:
    """Plain data written back the way Python prints it, shortened: for wrong-answer details."""
    return shorten(_show(value))


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    kind, inner = _marker(value)
    if kind == "__dict__":
        return "{" + ", ".join(f"{_show(k)}: {_show(v)}" for k, v in inner) + "}"
    if kind == "__set__":
        return "{" + ", ".join(_show(item) for item in inner) + "}" if inner else "set()"
    if kind == "__complex__":
        return repr(complex(*inner))
    if kind == "__int__":
        return f"<int {inner}>"
    if kind == "__repr__":
        return str(inner)
    return repr(value)


def shorten(text: str) -> str:
    """`text` cut to DETAIL_CHARS, marked with "..." when cut."""
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."
