import pytest

from engine.document import Completion, DocumentContext
from engine.errors import CodescalerError

DOC = "def f():\n    return 1\n# 日本語 😀 x\n"


def test_marker_sets_the_cursor_and_is_removed():
    context = DocumentContext.at_marker("a = █1\n", "█", path="x.py")
    assert (context.text, context.offset, context.language) == ("a = 1\n", 4, "python")
    assert (context.line_prefix, context.line_suffix) == ("a = ", "1")


def test_line_col_counts_code_points_on_non_ascii_lines():
    context = DocumentContext.at_line_col(DOC, 2, 8)
    assert context.line_prefix == "# 日本語 😀 "
    assert context.position() == (2, 8)


@pytest.mark.parametrize(("line", "col"), [(9, 0), (0, 99), (-1, 0)])
def test_cursor_outside_the_document_is_a_clear_error(line, col):
    with pytest.raises(CodescalerError, match="outside"):
        DocumentContext.at_line_col(DOC, line, col)


@pytest.mark.parametrize("text", ["no marker here", "two █ markers █"])
def test_marker_must_occur_once(text):
    with pytest.raises(CodescalerError, match="exactly once"):
        DocumentContext.at_marker(text, "█")


def test_language_from_name_or_path():
    assert DocumentContext("x", 0, "py").language == "python"
    assert DocumentContext("x", 0, None, "main.rs").language == "rust"
    assert DocumentContext("x", 0, None, "notes.txt").language is None


def test_completion_replaces_auto_closed_characters():
    context = DocumentContext.at_marker("print(█)\n", "█")
    assert Completion("'hi')", replace_chars=1).applied_to(context) == "print('hi')\n"
    assert Completion("x", logprobs=(-1.0, -3.0)).mean_logprob == -2.0
    assert Completion("x").mean_logprob is None
