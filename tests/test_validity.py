import pytest

from engine.syntax.validity import check_syntax

VALID = {
    "python": "def add(a, b):\n    return a + b\n",
    "javascript": "function add(a, b) { return a + b; }\n",
    "typescript": "function add(a: number, b: number): number { return a + b; }\n",
    "tsx": "const App = () => <div className='x'>hi</div>;\n",
    "go": "package main\n\nfunc add(a int, b int) int { return a + b }\n",
    "rust": "fn add(a: i32, b: i32) -> i32 { a + b }\n",
    "java": "class A { int add(int a, int b) { return a + b; } }\n",
    "cpp": "#include <vector>\nint add(int a, int b) { return a + b; }\n",
}
INVALID = {
    "python": "def add(a, b)\n    return a + b\n",
    "javascript": "function add(a, b) { return a + ; }\n",
    "typescript": "function add(a: number, b: number): number { return a + b;\n",
    "tsx": "const App = () => <div>hi</div;\n",
    "go": "package main\n\nfunc add(a int, b int) int { return a + b \n",
    "rust": "fn add(a: i32, b: i32) -> i32 { a + }\n",
    "java": "class A { int add(int a, int b) { return a + b } }\n",
    "cpp": "int add(int a, int b) { return a + b; \n",
}


@pytest.mark.parametrize("language", sorted(VALID))
def test_valid_programs_pass(language):
    check = check_syntax(VALID[language], language)
    assert (check.valid, check.language, check.reason) == (True, language, "")


@pytest.mark.parametrize("language", sorted(INVALID))
def test_broken_programs_fail_with_a_location(language):
    check = check_syntax(INVALID[language], language)
    assert check.valid is False
    assert "line" in check.reason


def test_missing_node_is_reported_as_missing():
    check = check_syntax("int main() { return 0 }", "cpp")
    assert check.valid is False
    assert check.reason.startswith("missing ;")


def test_python_is_cross_checked_with_ast():
    # tree-sitter's Python grammar still accepts the Python 2 print statement; `ast` does not.
    code = 'print "hello"\n'
    from tree_sitter import Parser

    from engine.syntax.languages import grammar

    assert not Parser(grammar("python")).parse(code.encode()).root_node.has_error
    check = check_syntax(code, "python")
    assert check.valid is False
    assert check.reason.startswith("python:")


def test_python_null_bytes_are_invalid_not_a_crash():
    assert check_syntax("x = 1\x00", "python").valid is False


def test_aliases_are_accepted():
    assert check_syntax("x = 1", "py").language == "python"
    assert check_syntax("int x = 1;", "c++").language == "cpp"


@pytest.mark.parametrize("code", ["", "   \n\t"])
def test_empty_code_is_invalid(code):
    check = check_syntax(code, "python")
    assert (check.valid, check.reason) == (False, "empty code")
    assert check_syntax(code, None).valid is False


def test_unknown_language_is_reported_not_guessed():
    check = check_syntax("main = print 1", "haskell")
    assert check.valid is None
    assert check.language is None
    assert "unknown language (haskell)" in check.reason
    assert "none given" in check_syntax("x = 1", None).reason


def test_non_ascii_code_parses():
    assert check_syntax("s = '日本語 😀'\nprint(s)\n", "python").valid is True
    assert check_syntax('let s = "héllo 😀";\n', "javascript").valid is True
