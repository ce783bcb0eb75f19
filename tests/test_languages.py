import pytest

from engine.syntax.languages import LANGUAGES, grammar, language_for_path, resolve_language


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("python", "python"),
        ("Py", "python"),
        ("python3", "python"),
        ("js", "javascript"),
        ("typescriptreact", "tsx"),
        ("ts", "typescript"),
        ("golang", "go"),
        ("rs", "rust"),
        ("Java", "java"),
        ("c++", "cpp"),
        ("haskell", None),
        ("", None),
        (None, None),
    ],
)
def test_names_and_aliases_resolve(name, expected):
    assert resolve_language(name) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/app.py", "python"),
        ("a/b.TSX", "tsx"),
        ("main.go", "go"),
        ("x.hpp", "cpp"),
        ("README.md", None),
        (None, None),
    ],
)
def test_file_extensions_resolve(path, expected):
    assert language_for_path(path) == expected


@pytest.mark.parametrize("name", sorted(LANGUAGES))
def test_every_grammar_loads(name):
    from tree_sitter import Parser

    tree = Parser(grammar(name)).parse(b"x")
    assert tree.root_node is not None
