import pytest

from engine.document import DocumentContext
from engine.syntax.line_mode import line_mode

CASES = [
    # (language, document with █, expected mode)
    ("python", "def add(a, b):█\n", "multi"),  # the cursor right after a block opener
    ("python", "def add(a, b):\n    █\n", "multi"),  # an empty body
    ("python", "class A:\n    def f(self):\n        █\n\nx = 1\n", "multi"),
    ("python", "if x:\n    █\nelse:\n    pass\n", "multi"),
    ("python", "d = {'a':█}\n", "single"),  # a dict's ':' opens no block
    ("python", "xs[1:█]\n", "single"),  # nor does a slice's
    ("python", "x = foo(█)\n", "single"),  # only an auto-closed bracket right of the cursor
    ("python", "x = █ + 1\n", "single"),  # real code right of the cursor
    ("python", "import os\nx = os.█\n", "single"),
    ("python", "import os\n\n█", "multi"),  # a blank line at the end of the file
    ("python", "import os\n█\nx = 1\n", "single"),  # a blank line between statements
    ("python", "█", "multi"),  # an empty document
    ("python", "s = '日本語 😀'\nif s:\n    █\n", "multi"),
    ("javascript", "function f(a) {█}\n", "multi"),
    ("javascript", "const g = (a) => █\n", "multi"),
    ("javascript", "const x = f(█);\n", "single"),
    ("go", "package main\n\nfunc f() int {\n\t█\n}\n", "multi"),
    ("rust", "fn f() -> i32 {\n    let x = █\n}\n", "single"),
    (None, "begin:█", "multi"),  # no grammar: the last character decides
    (None, "x = 1█", "single"),
]


@pytest.mark.parametrize(("language", "document", "expected"), CASES)
def test_line_mode_follows_the_syntax_tree_at_the_cursor(language, document, expected):
    assert line_mode(DocumentContext.at_marker(document, "█", language)) == expected
