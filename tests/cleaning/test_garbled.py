"""garbled: golden cases, plus each kind of garbled character on its own."""

from __future__ import annotations

import pytest

from engine.cleaning.garbled import garbled
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case

CONTEXT = DocumentContext.at_marker("x = ║\n", "║", "python")


@pytest.mark.parametrize("case", params(load_cases("garbled")))
def test_golden(case):
    check(case, run_case(garbled, case))


@pytest.mark.parametrize("char", ["\ufffd", "\x00", "\x1b", "\x7f", "\x85", "\ud800", "\U000e0080", "\x0c"])
def test_each_kind_of_garbled_character_cuts_the_candidate(char):
    assert garbled(Completion(f"f(1){char}g()"), CONTEXT).text == "f(1)"


@pytest.mark.parametrize("text", ["a\tb\r\nc", "'é ü 名前 🙂'", "'\u200b'", "'\ue000'"])
def test_tabs_line_breaks_letters_emoji_format_and_private_use_characters_are_kept(text):
    completion = Completion(text)
    assert garbled(completion, CONTEXT) is completion


def test_a_control_character_the_document_already_uses_is_kept():
    context = DocumentContext.at_marker("a = 1\n\x0c\nb = ║\n", "║", "python")
    completion = Completion("2\n\x0c\n")
    assert garbled(completion, context) is completion


def test_the_cut_keeps_replace_range_and_logprobs():
    completion = Completion("x)\ufffd", replace_chars=1, logprobs=(-0.5, -1.0), index=3)
    cut = garbled(completion, CONTEXT)
    assert (cut.text, cut.replace_chars, cut.logprobs, cut.index) == ("x)", 1, (-0.5, -1.0), 3)
