"""Examples a prompt already shows, read as tests: doctests, MBPP asserts and prose arrows."""

from __future__ import annotations

from training.evaluation.prompt_examples import examples_from_question

HUMANEVAL_2 = '''

def truncate_number(number: float) -> float:
    """ Return the decimal part of the number.
    >>> truncate_number(3.5)
    0.5
    """
'''


def test_doctest_without_the_docstring_quotes():
    (example,) = examples_from_question(HUMANEVAL_2)
    assert example.test == "assert (truncate_number(3.5)) == (0.5)"
    assert (example.fn_name, example.args) == ("truncate_number", (3.5,))


def test_mbpp_assert_line_with_and_without_a_plain_call():
    question = (
        "Write a function to add.\nassert add(1, [2, 3]) == 6\nassert set(pairs((1, 2))) == set([(1, 2)])\n"
    )
    plain, wrapped = examples_from_question(question)
    assert (plain.fn_name, plain.args) == ("add", (1, [2, 3]))
    assert wrapped.test.startswith("assert set(pairs") and wrapped.fn_name is None


def test_prose_arrows_need_literal_arguments():
    question = 'Examples:\n    fix("ab") ➞ "ba"\n    is_happy(a) => False\n    odd(3) == True.\n'
    examples = examples_from_question(question)
    assert [e.test for e in examples] == ['assert (fix("ab")) == ("ba")', "assert (odd(3)) == (True)"]


def test_no_examples_and_duplicates():
    assert examples_from_question("Write a function that sorts a list.") == []
    doubled = "assert f(1) == 2\nassert f(1) == 2\n"
    assert len(examples_from_question(doubled)) == 1
