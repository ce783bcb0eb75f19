import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsp_server.positions import LineIndex, PositionError

LINE = "x = '日本 😀' + y"  # CJK (1 utf-16 unit, 3 bytes) and an emoji (2 utf-16 units, 4 bytes)


@pytest.mark.parametrize(
    ("encoding", "character"),
    [("utf-32", 9), ("utf-16", 10), ("utf-8", 16)],  # the closing quote after the emoji
)
def test_the_same_place_in_each_encoding(encoding, character):
    text = "a\n" + LINE
    index = LineIndex.of(text)
    offset = index.offset(1, character, encoding)
    assert text[offset] == "'" and text[offset - 1] == "😀"
    assert index.position(offset, encoding) == (1, character)


def test_inside_a_character_or_past_the_end_is_an_error():
    index = LineIndex.of(LINE)
    with pytest.raises(PositionError, match="splits"):
        index.offset(0, 9, "utf-16")  # between the emoji's two utf-16 units
    with pytest.raises(PositionError, match="splits"):
        index.offset(0, 6, "utf-8")  # inside 日
    with pytest.raises(PositionError, match="past the end"):
        index.offset(0, 100, "utf-16")
    with pytest.raises(PositionError, match="outside"):
        index.offset(5, 0, "utf-16")


def test_only_lsp_line_breaks_end_lines():
    text = "a\r\nb\rc\nd\u2028e\x0cf"
    index = LineIndex.of(text)
    assert [index.offset(line, 0, "utf-16") for line in range(4)] == [0, 3, 5, 7]
    assert index.offset(3, 5, "utf-16") == len(text)  # U+2028 and form feed stay inside line 3


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), st.data())
def test_offsets_and_positions_round_trip(text, data):
    index = LineIndex.of(text)
    offset = data.draw(st.integers(0, len(text)))
    if text[max(0, offset - 1) : offset + 1] == "\r\n":
        offset -= 1  # the middle of a line break is no position
    for encoding in ("utf-8", "utf-16", "utf-32"):
        line, character = index.position(offset, encoding)
        assert index.offset(line, character, encoding) == offset
