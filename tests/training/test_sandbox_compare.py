"""Output comparison rules (no sandbox): stdout lines and tokens, returned values as plain values."""

import math

import pytest

from training.sandbox.compare import show, stdout_mismatch, values_match


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


def test_values_match_like_python_equality_with_tolerance():
    assert values_match((1, 2), [1, 2], 0.0)  # tuples lost in JSON datasets
    assert values_match(1, 1.0, 0.0) and values_match(True, 1, 0.0)
    assert not values_match(0.1 + 0.2, 0.3, 0.0)
    assert values_match(0.1 + 0.2, 0.3, 1e-9)
    assert values_match([[1.0, 2.0000001]], [(1, 2)], 1e-6)
    assert values_match(math.nan, math.nan, 0.0)
    assert not values_match(math.nan, 1.0, 10.0)
    assert not values_match("1", 1, 0.0)
    assert not values_match(None, 0, 0.0)
    assert not values_match([1, 2], [1, 2, 3], 0.0)
    assert not values_match(b"a", "a", 0.0)


def test_values_match_sets_and_dicts_regardless_of_order():
    assert values_match({1, 2, 3}, {3, 2, 1}, 0.0)
    assert values_match([3, 1, 2], {1, 2, 3}, 0.0)  # a set saved as a JSON list
    assert not values_match({1, 2}, [1, 1, 2], 0.0)
    assert values_match({"a": 1, "b": [2]}, {"b": (2,), "a": 1}, 0.0)
    assert not values_match({"a": 1}, {"a": 1, "b": 2}, 0.0)
    assert not values_match({"a": 1}, [("a", 1)], 0.0)
    assert values_match({1.0, 2.0}, {2.0000001, 1.0}, 1e-6)
    assert values_match(1 + 2j, 1 + 2.0000001j, 1e-6)
    assert values_match(2, 2 + 0j, 0.0) and not values_match("2", 2j, 0.0)


def test_show_writes_values_as_python_prints_them():
    assert show([(1, "a"), {2}, {"k": None}, 1j]) == "[(1, 'a'), {2}, {'k': None}, 1j]"
    assert show(set()) == "set()"
    assert len(show(list(range(1000)))) == 120
    assert show(10**5000) == "<int of 16610 bits>"


@pytest.mark.parametrize("atol", [0.0, 1e-6])
def test_an_int_beyond_any_float_is_a_mismatch_not_a_crash(atol):
    """A program may return 10**400 where a float is expected (an RL policy found this): a wrong answer,
    never an exception in the trusted judge."""
    huge = 10**400
    assert not values_match(2.5, huge, atol) and not values_match(huge, 2.5, atol)
    assert not values_match(float("nan"), huge, atol) and not values_match([1.0, 2.0], [1.0, huge], atol)
    assert not values_match(1 + 2j, huge, atol) and not values_match(huge, 1j, atol)
    assert values_match(huge, huge, atol)
