import re

import pytest

from engine.syntax.extraction import extract_code

REFERENCE_PATTERN = re.compile(r"```(?:\w+)?\n(.*?)```", re.DOTALL)


def reference(response: str) -> str:
    """The reference recipe's rule, spelled out independently, for comparison."""
    blocks = REFERENCE_PATTERN.findall(response)
    return blocks[0].strip() if len(blocks) == 1 else ""


RESPONSES = [
    "Sure:\n```python\ndef f():\n    return 1\n```\nDone.",
    "```\nx = 1\n```",
    "```py\n  indented = True  \n\n```",
    "two blocks\n```python\na = 1\n```\nand\n```python\nb = 2\n```",
    "no code at all",
    "```python def f(): pass```",
    "unterminated\n```python\nx = 1\n",
    "```c++\nint main() {}\n```",
    "```python\nprint('日本語 😀')\n```",
    "",
]


@pytest.mark.parametrize("response", RESPONSES)
def test_reference_mode_matches_the_reference_rule(response):
    assert extract_code(response).code == reference(response)


def test_reference_mode_needs_exactly_one_block():
    one = extract_code("text\n```python\nx = 1\n```\n")
    assert (one.code, one.tag, one.blocks) == ("x = 1", "python", 1)
    two = extract_code("```python\na = 1\n```\n```python\nb = 2\n```")
    assert (two.code, two.blocks) == ("", 2)
    assert extract_code("x = 1").code == ""


def test_tag_is_optional_and_reported():
    assert extract_code("```\nx = 1\n```").tag is None
    assert extract_code("```rust\nfn main() {}\n```").tag == "rust"


def test_lenient_mode_takes_the_last_block():
    response = "first\n```python\na = 1\n```\nfinal answer\n```python\nb = 2\n```"
    assert extract_code(response, "lenient").code == "b = 2"


def test_lenient_mode_accepts_a_cut_off_final_block():
    got = extract_code("here it comes\n```go\npackage main\nfunc main() {", "lenient")
    assert (got.code, got.tag) == ("package main\nfunc main() {", "go")
    assert extract_code("plain prose", "lenient").code == ""


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="extraction mode"):
        extract_code("x", "greedy")  # type: ignore[arg-type]
