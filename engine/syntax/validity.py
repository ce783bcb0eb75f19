"""Is a program syntactically valid? The gate in front of the reward model.

Validity-preserving shaping gives invalid code reward 0 without asking the reward model, so this check
decides what the model ever sees. tree-sitter covers every supported language (any ERROR or MISSING node
makes the program invalid); Python is also parsed with `ast`, which the reference uses, so a program
counts as valid only when both parsers accept it.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.syntax.languages import grammar, resolve_language

if TYPE_CHECKING:
    from tree_sitter import Node, Parser


@dataclass(frozen=True)
class SyntaxCheck:
    """The verdict on one program.

    `valid` is None when the language is unknown: the code was not checked, and `reason` says so.
    """

    valid: bool | None
    language: str | None
    reason: str = ""


_local = threading.local()


def parser(language: str) -> Parser:
    """This thread's parser for `language` (tree-sitter parsers must not be shared between threads)."""
    from tree_sitter import Parser

    parsers = _local.__dict__.setdefault("parsers", {})
    if language not in parsers:
        parsers[language] = Parser(grammar(language))
    return parsers[language]


def first_error(node: Node) -> Node | None:
    """The first ERROR or MISSING node under `node` in document order, or None."""
    if not node.has_error:
        return None
    if node.is_error or node.is_missing:
        return node
    for child in node.children:
        found = first_error(child)
        if found is not None:
            return found
    return node  # has_error set on a node whose own kind is the error (e.g. a zero-width MISSING leaf)


def _describe(node: Node) -> str:
    line, column = node.start_point
    what = f"missing {node.type}" if node.is_missing else "syntax error"
    return f"{what} at line {line + 1}, column {column + 1}"


def _python_ast_error(code: str) -> str | None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"python: {exc.msg} at line {exc.lineno}"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return f"python: {type(exc).__name__}: {exc}"
    return None


def check_syntax(code: str, language: str | None) -> SyntaxCheck:
    """Check `code` in `language`, any name or alias `resolve_language` knows (`py`, `golang`, `c++`...).

    Empty or whitespace-only code is invalid: there is no program to reward.
    """
    known = resolve_language(language)
    if not code.strip():
        return SyntaxCheck(False, known, "empty code")
    if known is None:
        return SyntaxCheck(None, None, f"unknown language ({language or 'none given'}): syntax not checked")
    tree = parser(known).parse(code.encode("utf-8"))
    error = first_error(tree.root_node)
    if error is not None:
        return SyntaxCheck(False, known, _describe(error))
    if known == "python":
        message = _python_ast_error(code)
        if message is not None:
            return SyntaxCheck(False, known, message)
    return SyntaxCheck(True, known)
