"""near_empty: golden cases, plus the limits of "a scrap of punctuation"."""

from __future__ import annotations

import pytest

from engine.cleaning.near_empty import near_empty
from engine.document import Completion, DocumentContext
from tests.cleaning.golden import check, load_cases, params, run_case

CONTEXT = DocumentContext.at_marker("f(║)\n", "║", "javascript")


@pytest.mark.parametrize("case", params(load_cases("near_empty")))
def test_golden(case):
    check(case, run_case(near_empty, case))


@pytest.mark.parametrize("text", [";", "))", "+=", "^", " ] \n"])
def test_up_to_two_punctuation_or_operator_characters_are_dropped(text):
    assert near_empty(Completion(text), CONTEXT) is None


@pytest.mark.parametrize("text", ["x", "0", "))]", "_", "é"])
def test_letters_digits_and_longer_punctuation_are_kept(text):
    completion = Completion(text)
    assert near_empty(completion, CONTEXT) is completion


def test_retyping_only_part_of_the_replaced_text_is_a_change():
    context = DocumentContext.at_marker("f(║ab)\n", "║", "javascript")
    completion = Completion("a", replace_chars=2)
    assert near_empty(completion, context) is completion
