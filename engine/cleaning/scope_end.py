"""Stop a completion where the scope around the cursor ends.

Asked to finish a function body, a model happily goes on: it closes the function and writes the next one,
or a top-level `print(...)`, or (in brace languages) a `}` followed by more code. Users complain that
accepting such a completion pastes code they never asked for, usually a rival version of what already
follows the cursor. This filter cuts the completion where it leaves the innermost function-, class- or
namespace-level scope that holds it.

The scope is found with tree-sitter in the document with the completion inserted: the innermost scope
node (a function body, a class body, an impl block...) around the completion's first non-blank character.
If that scope ends inside the completion and code follows, the completion is cut at the scope's end (in
brace languages the closing `}` is kept, along with brackets like `);` after it on the same line: whether
the document already has that `}` is the business of `suffix_repeat`). Nested `if`/`for` blocks are not
scopes here: going from an `if` body back to the function body is ordinary code.

Without a grammar, or when the scope cannot be trusted (it contains a syntax error, or the completion's
start lies inside one), an indentation rule decides instead: the completion is cut before its first line,
after the first, that is indented less than the cursor's line; a line of closing brackets alone there is
kept and the cut falls after it.

Conservative by design: the first line of a completion is never cut, and a completion is only cut when
non-blank text would be removed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from engine.cleaning.common import is_blank, leading_whitespace
from engine.document import Completion, DocumentContext
from engine.syntax.languages import grammar

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

# Scope node type -> the parent types that make it a scope (None: any parent).
_FUNCTION_LIKE_JS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "generator_function",
        "generator_function_declaration",
        "arrow_function",
        "method_definition",
        "class_static_block",
    }
)
_JS_SCOPES: dict[str, frozenset[str] | None] = {"statement_block": _FUNCTION_LIKE_JS, "class_body": None}
_TS_SCOPES: dict[str, frozenset[str] | None] = {**_JS_SCOPES, "interface_body": None, "enum_body": None}
SCOPES: dict[str, dict[str, frozenset[str] | None]] = {
    "python": {"block": frozenset({"function_definition", "class_definition"})},
    "javascript": _JS_SCOPES,
    "typescript": _TS_SCOPES,
    "tsx": _TS_SCOPES,
    "go": {
        "block": frozenset({"function_declaration", "method_declaration", "func_literal"}),
        "field_declaration_list": None,
        "interface_type": None,
    },
    "rust": {
        "block": frozenset({"function_item", "closure_expression"}),
        "declaration_list": None,
        "field_declaration_list": None,
        "enum_variant_list": None,
    },
    "java": {
        "block": frozenset({"method_declaration", "lambda_expression"}),
        "constructor_body": None,
        "class_body": None,
        "interface_body": None,
        "enum_body": None,
    },
    "cpp": {
        "compound_statement": frozenset({"function_definition", "lambda_expression"}),
        "field_declaration_list": None,
        "declaration_list": None,
        "enumerator_list": None,
    },
}

_CLOSERS_ONLY = re.compile(r"[)\]}]+[)\]};,]*")
_COMMENT_START = ("#", "//", "/*")


def scope_end(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion cut where it leaves the cursor's scope, or unchanged."""
    text = completion.text
    first_break = text.find("\n")
    if first_break < 0 or is_blank(text[first_break:]):
        return completion
    cut = _syntax_cut(completion, context)
    if cut is None:
        cut = _indentation_cut(text, context)
    if cut < first_break or is_blank(text[cut:]):
        return completion
    return replace(completion, text=text[:cut].rstrip())


@functools.cache
def _parser(language: str) -> Parser:
    from tree_sitter import Parser

    return Parser(grammar(language))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _syntax_cut(completion: Completion, context: DocumentContext) -> int | None:
    """Where the scope ends in the completion (its length if it does not); None when there is no verdict."""
    scopes = SCOPES.get(context.language or "")
    if scopes is None:
        return None
    text = completion.text
    anchor = len(text) - len(text.lstrip())
    document = _utf8(completion.applied_to(context))
    start = len(_utf8(context.prefix))
    anchor_byte = start + len(_utf8(text[:anchor]))
    tree = _parser(context.language).parse(document)
    node = tree.root_node.descendant_for_byte_range(anchor_byte, anchor_byte + len(_utf8(text[anchor])))
    if node is None:
        return None
    scope = _enclosing_scope(node, scopes, anchor_byte, document)
    if scope is None:
        return None if _inside_error(node) else len(text)
    if scope.has_error:
        return None
    end = min(_end_of_scope_line(scope.end_byte, document), start + len(_utf8(text)))
    return len(document[start:end].decode("utf-8", "surrogatepass"))


def _enclosing_scope(
    node: Node, scopes: dict[str, frozenset[str] | None], anchor_byte: int, document: bytes
) -> Node | None:
    """The innermost scope around `node` that was opened before the completion's first character."""
    current: Node | None = node
    while current is not None:
        if current.type in scopes and current.parent is not None:
            owners = scopes[current.type]
            opened_before = current.start_byte < anchor_byte or (
                current.start_byte == anchor_byte and document[anchor_byte : anchor_byte + 1] not in b"{[("
            )
            if (owners is None or current.parent.type in owners) and opened_before:
                return current
        current = current.parent
    return None


def _inside_error(node: Node) -> bool:
    current: Node | None = node
    while current is not None:
        if current.is_error or current.is_missing:
            return True
        current = current.parent
    return False


def _end_of_scope_line(end: int, document: bytes) -> int:
    """`end`, or the end of its line when the rest of the line is closing punctuation or a comment."""
    line_end = document.find(b"\n", end)
    line_end = len(document) if line_end < 0 else line_end
    rest = document[end:line_end].decode("utf-8", "surrogatepass").strip()
    if not any(char.isalnum() for char in rest) or rest.startswith(_COMMENT_START):
        return line_end
    return end


def _indentation_cut(text: str, context: DocumentContext) -> int:
    """Where the completion first goes left of the cursor line's indentation (its length if never)."""
    lines = text.split("\n")
    first = context.line_prefix + lines[0]
    reference = first if not is_blank(first) else next((line for line in lines if not is_blank(line)), "")
    depth = len(leading_whitespace(reference))
    offset = len(lines[0]) + 1
    for line in lines[1:]:
        if not is_blank(line) and len(leading_whitespace(line)) < depth:
            stripped = line.strip()
            if _CLOSERS_ONLY.fullmatch(stripped):
                return offset + len(line)
            return len(text) if stripped[0] in ")]}" else offset
        offset += len(line) + 1
    return len(text)
