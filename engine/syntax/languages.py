"""Which languages codescaler can check, and how a language is named.

Languages arrive under many spellings (a markdown fence tag `py`, an editor's `typescriptreact`, a file
extension `.hpp`). They all resolve here to one canonical name with a tree-sitter grammar, or to `None`:
an unknown language is reported as unknown, never guessed.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language


@dataclass(frozen=True)
class LanguageSpec:
    """A checkable language: its grammar module and the names and extensions that mean it."""

    name: str
    module: str
    grammar_function: str
    aliases: tuple[str, ...]
    extensions: tuple[str, ...]


LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec("python", "tree_sitter_python", "language", ("py", "python3", "py3"), (".py", ".pyi")),
        LanguageSpec(
            "javascript",
            "tree_sitter_javascript",
            "language",
            ("js", "node", "jsx", "javascriptreact", "mjs", "cjs"),
            (".js", ".mjs", ".cjs", ".jsx"),
        ),
        LanguageSpec(
            "typescript",
            "tree_sitter_typescript",
            "language_typescript",
            ("ts", "mts", "cts"),
            (".ts", ".mts", ".cts"),
        ),
        LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", ("typescriptreact",), (".tsx",)),
        LanguageSpec("go", "tree_sitter_go", "language", ("golang",), (".go",)),
        LanguageSpec("rust", "tree_sitter_rust", "language", ("rs",), (".rs",)),
        LanguageSpec("java", "tree_sitter_java", "language", (), (".java",)),
        LanguageSpec(
            "cpp",
            "tree_sitter_cpp",
            "language",
            ("c++", "cxx", "cc", "hpp", "hxx", "h++"),
            (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".h"),
        ),
    )
}

_BY_ALIAS = {alias: spec.name for spec in LANGUAGES.values() for alias in (spec.name, *spec.aliases)}
_BY_EXTENSION = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}


def resolve_language(name: str | None) -> str | None:
    """Canonical name for a language name, alias or fence tag (case-insensitive); None if unknown."""
    if not name:
        return None
    return _BY_ALIAS.get(name.strip().lower())


def unchecked_note() -> str:
    """What happens to code in a language without a grammar here, and which languages have one."""
    return f"candidates are not syntax-checked (languages with a grammar: {', '.join(LANGUAGES)})"


def language_for_path(path: str | None) -> str | None:
    """Canonical language for a file path by its extension; None if the extension is unknown."""
    if not path:
        return None
    return _BY_EXTENSION.get(PurePath(path).suffix.lower())


@functools.cache
def grammar(name: str) -> Language:
    """The tree-sitter grammar of a canonical language name (loaded once per process)."""
    from tree_sitter import Language

    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.grammar_function)())


def line_comment(language: str | None) -> str:
    """How a line comment starts in `language` (Python's `#`; `//` in the other supported languages)."""
    return "#" if language == "python" else "//"
