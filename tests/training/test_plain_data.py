"""Plain data, the only thing that leaves a candidate's sandbox: what qualifies, read without the value's own
methods, and a decoder that yields nothing but built-in values whatever a forged report holds (no sandbox)."""

import collections
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.sandbox.harness import MAX_DEPTH, NotPlain, decode, encode, same


def round_trip(value):
    return decode(json.loads(json.dumps(encode(value))))


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary() | st.complex_numbers(),
    lambda inner: (
        st.lists(inner)
        | st.lists(inner).map(tuple)
        | st.dictionaries(st.text() | st.integers(), inner)
        | st.frozensets(st.integers() | st.text())
    ),
    max_leaves=20,
)


@given(PLAIN)
def test_plain_values_survive_the_trip_exactly(value):
    back = round_trip(value)
    assert same(back, value)


def test_exact_types_are_kept():
    value = [1, 1.0, True, (1,), {1}, frozenset({2}), b"x", 1j, {"k": None}, 10**5000, math.inf, -math.inf]
    back = round_trip(value)
    assert [type(item) for item in back] == [type(item) for item in value]
    assert back[-3] == 10**5000 and math.isnan(round_trip(math.nan))


def test_subclasses_and_other_objects_are_not_plain():
    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    class Always:
        def __eq__(self, other):
            return True

    class Listy(list):
        def __iter__(self):
            return iter([42])

    for value in (Liar(3), Always(), Listy([1]), (x for x in [1]), [Liar(1)], {"k": Always()}, object):
        with pytest.raises(NotPlain, match="not plain data"):
            encode(value)
    with pytest.raises(NotPlain, match=r"Liar \(a subclass of int\)"):
        encode(Liar(3))


def test_the_standard_librarys_dicts_and_named_tuples_are_read_as_their_base():
    point = collections.namedtuple("Point", "x y")(1, 2)
    assert same(round_trip(point), (1, 2))
    for value in (
        collections.Counter("aab"),
        collections.OrderedDict(a=1),
        collections.defaultdict(int, a=1),
    ):
        assert type(round_trip(value)) is dict and round_trip(value) == dict(value)


def test_cycles_depth_and_size_are_bounded():
    loop: list = []
    loop.append(loop)
    with pytest.raises(NotPlain, match="contains itself"):
        encode(loop)
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(NotPlain, match="nested more than"):
        encode(deep)
    with pytest.raises(NotPlain, match="more than"):
        encode([0] * 2_000_000)
    shared = [1]
    assert round_trip([shared, shared]) == [[1], [1]]  # shared, not a cycle


@pytest.mark.parametrize(
    "forged",
    [
        {"__eq__": 1},
        {"t": 5},
        {"d": [[1]]},
        {"d": [[[1], 2]]},  # an unhashable key
        {"s": [[1]]},
        {"b": "zz"},
        {"c": ["a", 1]},
        {"f": "1e999"},
        {"i": 12},
        {"t": [], "s": []},
    ],
)
def test_forged_reports_decode_to_an_error_never_to_an_object(forged):
    with pytest.raises(NotPlain):
        decode(forged)


def test_decoding_is_bounded():
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(NotPlain):
        decode(deep)


def test_same_tells_types_apart():
    assert not same(1, 1.0) and not same(1, True) and not same([1], (1,))
    assert same(math.nan, math.nan) and same({"a": [1]}, {"a": [1]})
    assert not same({"a": 1}, {"a": 1.0})
