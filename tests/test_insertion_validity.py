import pytest

from engine.document import Completion, DocumentContext
from engine.syntax.insertion import ParsedDocument

CASES = [
    # (language, document with █, completion, replace_chars, expected validity)
    ("python", "def add(a, b):\n    return █\n\nprint(add(1, 2))\n", "a + b", 0, True),
    ("python", "def add(a, b):\n    return █\n\nprint(add(1, 2))\n", "a + (b", 0, False),
    ("python", "def add(█\n\nprint(add(1, 2))\n", "a, b):\n    return a + b", 0, True),  # repairs the line
    ("python", "s = '日本語 😀'\nx = █\n", "len(s)", 0, True),
    ("python", "s = '日本語 😀'\nx = len(█)\n", "s))", 0, False),
    ("javascript", "foo(█)\n", "a, b)", 1, True),  # widened over the auto-closed bracket
    ("javascript", "foo(█)\n", "a, b)", 0, False),  # the same text without widening doubles it
    ("go", "package main\n\nfunc f() int {\n\treturn █\n}\n", "42", 0, True),
    ("go", "package main\n\nfunc f() int {\n\treturn █\n}\n", "42 }", 0, False),
    ("rust", "fn f() -> i32 {\n    █\n}\n", "let x = 1;\n    x + 1", 0, True),
    ("rust", "fn f() -> i32 {\n    █\n}\n", "let x = ;", 0, False),
    ("cpp", "int f() {\n    return █\n}\n", "0;", 0, True),
    ("java", "class A {\n    int f() { return █ }\n}\n", "1;", 0, True),
    ("typescript", "const x: number = f(█);\n", "1 +", 0, False),
    ("typescript", "const x: number = f(█);\n", "1 + 2", 0, True),
]


@pytest.mark.parametrize(("language", "document", "text", "replace", "expected"), CASES)
def test_insertion_is_judged_against_the_document_without_it(language, document, text, replace, expected):
    context = DocumentContext.at_marker(document, "█", language)
    check = ParsedDocument.parse(context).check(Completion(text, replace))
    assert check.valid is expected, check.reason
    if not expected:
        assert "syntax error" in check.reason
    else:
        assert check.reason == ""


def test_errors_elsewhere_in_the_document_do_not_count():
    document = "def broken(:\n    pass\n\n\ndef ok():\n    return █\n"
    context = DocumentContext.at_marker(document, "█", "python")
    assert ParsedDocument.parse(context).check(Completion("1")).valid is True


def test_one_parse_serves_many_candidates():
    context = DocumentContext.at_marker("x = [█]\n", "█", "python")
    document = ParsedDocument.parse(context)
    verdicts = [document.check(Completion(text)).valid for text in ["1", "(", "1, 2", "1 +"]]
    assert verdicts == [True, False, True, False]
    assert document.tree.root_node.text == b"x = []\n"  # the shared tree is never edited


def test_an_already_broken_cursor_line_is_compared_as_it_stands():
    # "x = " is incomplete; "1 +" leaves it no worse, "1" repairs it. Only new breakage is invalid.
    document = ParsedDocument.parse(DocumentContext.at_marker("x = █\n", "█", "python"))
    assert [document.check(Completion(t)).valid for t in ["1", "1 +"]] == [True, True]


def test_empty_completion_is_invalid_and_unknown_language_is_unchecked():
    context = DocumentContext.at_marker("x = █\n", "█", "python")
    assert ParsedDocument.parse(context).check(Completion("  ")).valid is False
    unknown = ParsedDocument.parse(DocumentContext.at_marker("x = █\n", "█", None, "notes.txt"))
    check = unknown.check(Completion("1"))
    assert check.valid is None and "unknown language" in check.reason
