"""Output comparison rules (no sandbox): stdout lines and tokens, returned values as plain data."""

import math
from collections import namedtuple

import pytest

from training.sandbox.compare import show, stdout_mismatch, values_match
from training.sandbox.harness import plain


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("1 2\n3\n", "1 2\n3"),  # the final newline
        ("1 2\n3", "1 2   \n3\t\n\n\n"),  # trailing whitespace and blank lines
        ("1 2\n3", "1  2\n 3"),  # spacing between and before tokens
        ("0.5\n", "0.50000\n"),  # the same number written differently
        ("1\n", "1.0\n"),
        ("a\r\nb\r\n", "a\nb\n"),
    ],
)
def test_stdout_matches_despite_whitespace_and_number_format(expected, actual):
    assert stdout_mismatch(expected, actual, atol=0.0) is None


def test_stdout_floats_within_atol_only():
    assert stdout_mismatch("0.333333", "0.3333339", atol=1e-6) is None
    assert stdout_mismatch("0.333333", "0.3334", atol=1e-6) == "line 1: expected '0.333333', got '0.3334'"
    assert stdout_mismatch("nan", "nan", atol=1.0) is None  # equal as text
    assert stdout_mismatch("inf", "1e308", atol=1e300) is not None


@pytest.mark.parametrize(
    ("expected", "actual", "reason"),
    [
        ("1\n2\n", "1\n", "line 2: expected '2', got no more output"),
        ("1\n", "1\n2\n", "line 2: unexpected extra output '2'"),
        ("yes\n", "YES\n", "line 1: expected 'yes', got 'YES'"),
        ("1 2\n", "1 2 3\n", "line 1: expected '1 2', got '1 2 3'"),
        ("1\n\n2\n", "1\n2\n", "line 2: expected '', got '2'"),  # blank lines inside the output count
    ],
)
def test_stdout_mismatch_says_where(expected, actual, reason):
    assert stdout_mismatch(expected, actual, atol=0.0) == reason


def test_plain_turns_values_into_comparable_data():
    Point = namedtuple("Point", "x y")
    assert plain((1, [2.5, "a"], None, True)) == [1, [2.5, "a"], None, True]
    assert plain(Point(1, 2)) == [1, 2]
    assert plain({"a": (1, 2)}) == {"__dict__": [["a", [1, 2]]]}
    assert plain({3}) == {"__set__": [3]}
    assert plain(frozenset()) == {"__set__": []}
    assert plain(1 + 2j) == {"__complex__": [1.0, 2.0]}
    assert plain(10**5000) == {"__int__": hex(10**5000)}
    assert plain(object())["__repr__"].startswith("<object object at")


def test_plain_does_not_trust_the_values_own_methods():
    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    class Sneaky(list):
        def __iter__(self):
            return iter([42])

    assert plain(Liar(3)) == 3 and type(plain(Liar(3))) is int
    assert plain(Sneaky([1, 2])) == [1, 2]
    nested: list = []
    nested.append(nested)
    assert "nested too deeply" in str(plain(nested))


def test_values_match_like_python_equality_with_tolerance():
    assert values_match(plain((1, 2)), plain([1, 2]), 0.0)  # tuples lost in JSON
    assert values_match(1, 1.0, 0.0) and values_match(True, 1, 0.0)
    assert not values_match(0.1 + 0.2, 0.3, 0.0)
    assert values_match(0.1 + 0.2, 0.3, 1e-9)
    assert values_match(plain([[1.0, 2.0000001]]), plain([(1, 2)]), 1e-6)
    assert values_match(math.nan, math.nan, 0.0)
    assert not values_match(math.nan, 1.0, 10.0)
    assert not values_match("1", 1, 0.0)
    assert not values_match(None, 0, 0.0)
    assert not values_match([1, 2], [1, 2, 3], 0.0)


def test_values_match_sets_and_dicts_regardless_of_order():
    assert values_match(plain({1, 2, 3}), plain({3, 2, 1}), 0.0)
    assert values_match(plain([3, 1, 2]), plain({1, 2, 3}), 0.0)  # a set saved as a JSON list
    assert not values_match(plain({1, 2}), plain([1, 1, 2]), 0.0)
    assert values_match(plain({"a": 1, "b": [2]}), plain({"b": (2,), "a": 1}), 0.0)
    assert not values_match(plain({"a": 1}), plain({"a": 1, "b": 2}), 0.0)
    assert values_match(plain({1.0, 2.0}), plain({2.0000001, 1.0}), 1e-6)
    assert values_match(plain(1 + 2j), plain(1 + 2.0000001j), 1e-6)
    assert not values_match(plain(object()), plain(object()), 0.0)


def test_show_writes_values_back_as_python_does():
    assert show(plain([(1, "a"), {2}, {"k": None}, 1j])) == "[[1, 'a'], {2}, {'k': None}, 1j]"
    assert show(plain(set())) == "set()"
    assert len(show(list(range(1000)))) == 120
