"""Is an output right? The comparison rules for printed output (stdio tests) and returned values (call
tests), applied outside the sandbox to plain data.

Returned values arrive as built-in objects (`harness.decode` of what the sandbox reported), expected values
as the dataset stores them or as the reference returned them.
"""

from __future__ import annotations

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
    """`expected == actual` for plain values, loosened where datasets stored in JSON lose types: numbers
    by value (floats within `atol`, NaN equal to NaN, so 1 == 1.0 == True as in Python), lists and tuples
    item by item (a tuple equals a list with equal items), sets and dicts regardless of order, a set equal
    to a list holding the same items (JSON has no sets), complex numbers part by part."""
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            values_match(e, a, atol) for e, a in zip(expected, actual, strict=True)
        )
    if _is_set(expected) or _is_set(actual):
        return all(_is_set(v) or isinstance(v, list | tuple) for v in (expected, actual)) and _same_items(
            list(expected), list(actual), atol
        )
    if isinstance(expected, dict) or isinstance(actual, dict):
        return (
            isinstance(expected, dict)
            and isinstance(actual, dict)
            and len(expected) == len(actual)
            and _same_items(list(expected.items()), list(actual.items()), atol)
        )
    if isinstance(expected, complex) or isinstance(actual, complex):
        if not all(_number(v) or isinstance(v, complex) for v in (expected, actual)):
            return False
        try:
            want, got = complex(expected), complex(actual)
        except OverflowError:  # an int beyond any float: no complex number is near it
            return False
        return values_match(want.real, got.real, atol) and values_match(want.imag, got.imag, atol)
    if _number(expected) and _number(actual):
        if expected == actual:
            return True
        if not (isinstance(expected, float) or isinstance(actual, float)):
            return False
        try:
            if math.isnan(expected) or math.isnan(actual):
                return math.isnan(expected) and math.isnan(actual)
            return abs(expected - actual) <= atol
        except OverflowError:  # a returned int beyond any float (10**400): never within atol of a float
            return False
    return type(expected) is type(actual) and expected == actual


def _number(value: Any) -> bool:
    return isinstance(value, int | float)


def _is_set(value: Any) -> bool:
    return isinstance(value, set | frozenset)


def _same_items(want: list[Any], got: list[Any], atol: float) -> bool:
    """Multiset equality: exact items by their canonical form, the rest paired greedily within atol."""
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


def _canonical(value: Any) -> Any:
    """A hashable form under which values_match-equal values (without tolerance) coincide: numbers by
    value, lists and tuples alike, sets and dicts without order."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if _number(value):
        return ("number", value)
    if isinstance(value, complex):
        return (
            ("number", value.real)
            if value.imag == 0
            else ("complex", _canonical(value.real), _canonical(value.imag))
        )
    if isinstance(value, list | tuple):
        return ("sequence", tuple(_canonical(item) for item in value))
    if _is_set(value):
        return ("set", frozenset(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("dict", frozenset((_canonical(k), _canonical(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def show(value: Any) -> str:
    """A plain value written the way Python prints it, shortened: for wrong-answer details. Plain values
    are built-in objects, so their repr runs no code of the candidate's."""
    try:
        return shorten(repr(value))
    except ValueError:  # an int with more digits than Python will print
        return f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<value>"


def shorten(text: str) -> str:
    """`text` cut to DETAIL_CHARS, marked with "..." when cut."""
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."
