"""The outline of one source file, from its tree-sitter syntax tree: definitions with their signatures and
docstrings (or leading comments), and imports.

A definition's snippet is what a reader needs to call it correctly, in the file's own language: the
signature as written (up to its body) and the docstring's first lines, e.g.

    def load_config(path: str, *, strict: bool = False) -> Config:
        \"\"\"Read the TOML config at `path`.\"\"\"

Classes list their methods' signatures under them, one line each and at most `MAX_MEMBERS` (the
constructor and public methods first), so
`Config(...)` and `config.merge(...)` can both be written from one short snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.syntax.validity import parser

if TYPE_CHECKING:
    from tree_sitter import Node

# language -> node type -> kind. Containers (classes, impls) are searched for methods.
DEFINITIONS: dict[str, dict[str, str]] = {
    "python": {"function_definition": "function", "class_definition": "class"},
    "javascript": {"function_declaration": "function", "generator_function_declaration": "function",
                   "class_declaration": "class", "method_definition": "method"},
    "typescript": {"function_declaration": "function", "class_declaration": "class", "method_definition": "method",
                   "interface_declaration": "type", "type_alias_declaration": "type", "abstract_class_declaration": "class"},
    "go": {"function_declaration": "function", "method_declaration": "method", "type_spec": "type"},
    "rust": {"function_item": "function", "struct_item": "type", "enum_item": "type", "trait_item": "type",
             "impl_item": "impl", "function_signature_item": "function"},
    "java": {"class_declaration": "class", "interface_declaration": "type", "method_declaration": "method",
             "constructor_declaration": "method", "enum_declaration": "type", "record_declaration": "class"},
    "cpp": {"function_definition": "function", "class_specifier": "class", "struct_specifier": "class"},
}  # fmt: skip
DEFINITIONS["tsx"] = DEFINITIONS["typescript"]
IMPORTS = {
    "python": {"import_statement", "import_from_statement"},
    "javascript": {"import_statement"},
    "typescript": {"import_statement"},
    "tsx": {"import_statement"},
    "go": {"import_declaration"},
    "rust": {"use_declaration"},
    "java": {"import_declaration"},
    "cpp": {"preproc_include"},
}
BODY_FIELDS = ("body", "block")
MAX_SIGNATURE_CHARS = 400
MAX_DOC_LINES = 3
MAX_MEMBERS = 8
MAX_MEMBER_CHARS = 120
MAX_SYMBOLS = 400
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Symbol:
    """A definition: its name, kind, where it is (0-based line), and the snippet a caller needs."""

    name: str
    kind: str
    path: str
    line: int
    snippet: str
    container: str | None = None


@dataclass
class Outline:
    """A file's definitions and imports, and the names its imports bring in."""

    path: str
    language: str
    symbols: list[Symbol] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # the import statements as written (one line each)
    imported_names: list[str] = field(default_factory=list)


def _text(node: Node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _name(node: Node, data: bytes) -> str | None:
    named = node.child_by_field_name("name")
    if named is None and node.type == "impl_item":
        named = node.child_by_field_name("type")
    if named is None:
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.child_by_field_name("declarator") is not None:
            declarator = declarator.child_by_field_name("declarator")
        named = declarator
    if named is None:
        return None
    match = IDENTIFIER.findall(_text(named, data))
    return match[-1] if match else None


def _body(node: Node) -> Node | None:
    for name in BODY_FIELDS:
        body = node.child_by_field_name(name)
        if body is not None:
            return body
    return None


def _signature(node: Node, data: bytes) -> str:
    body = _body(node)
    end = body.start_byte if body is not None else node.end_byte
    text = data[node.start_byte : end].decode("utf-8", errors="replace").rstrip()
    text = re.sub(r":[ \t]*#[^\n]*$", ":", text)  # `def f():  # type: ignore` ends at its colon
    if len(text) > MAX_SIGNATURE_CHARS:
        text = text[:MAX_SIGNATURE_CHARS].rstrip() + " ..."
    return text


def _member_order(member: Node, data: bytes) -> int:
    """Constructors first, then public methods, then private ones (`_name`), as a caller needs them."""
    name = _name(member, data) or ""
    if name in ("__init__", "constructor") or member.type == "constructor_declaration":
        return 0
    return 2 if name.startswith("_") else 1


def one_line(signature: str, limit: int = MAX_MEMBER_CHARS) -> str:
    """A signature on one line, at most `limit` characters: a class lists its methods this way."""
    text = re.sub(r",?\s*\)", ")", " ".join(signature.split()).replace("( ", "("))
    return text if len(text) <= limit else text[: limit - 4].rstrip() + " ..."


def _python_doc(node: Node, data: bytes) -> str | None:
    body = _body(node)
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return None
    if first.named_children[0].type != "string":
        return None
    lines = _text(first, data).splitlines()
    doc = "\n".join(lines[:MAX_DOC_LINES])
    return doc + ("\n..." if len(lines) > MAX_DOC_LINES else "")


def _leading_comment(node: Node, data: bytes) -> str | None:
    lines: list[str] = []
    sibling = node.prev_named_sibling
    while sibling is not None and "comment" in sibling.type and len(lines) < MAX_DOC_LINES:
        lines.insert(0, _text(sibling, data))
        sibling = sibling.prev_named_sibling
    return "\n".join(lines) if lines else None


def _snippet(node: Node, data: bytes, language: str, indent: str = "") -> str:
    signature = _signature(node, data)
    if language == "python":
        doc = _python_doc(node, data)
        head = signature if signature.endswith(":") else signature + ":"
        if doc is None:
            return f"{indent}{head}\n{indent}    ..."
        return f"{indent}{head}\n" + "\n".join(
            f"{indent}    {line.strip()}".rstrip() for line in doc.splitlines()
        )
    comment = _leading_comment(node, data)
    return (f"{comment}\n" if comment else "") + signature


def _members(node: Node, data: bytes, language: str, kinds: dict[str, str]) -> list[Node]:
    body = _body(node)
    if body is None:
        return []
    found = []
    for child in body.named_children:
        target = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
        if target is not None and target.type in kinds and kinds[target.type] in ("function", "method"):
            found.append(target)
    return found


def imported_names(statement: str, language: str) -> list[str]:
    """The names an import statement brings into the file (Python's `from a import b as c` gives `b` and
    `c`; `import a.b` gives `a.b` and `b`), JavaScript's `import X, { a as b } from "m"` gives `X`, `a`
    and `b`; elsewhere the last name of the imported path (Go, Java, Rust without braces). C++ includes
    name files, not names."""
    if language == "python":
        text = " ".join(statement.replace("(", " ").replace(")", " ").replace("\\", " ").split())
        if text.startswith("from "):
            _, _, names = text.partition(" import ")
            found = []
            for part in names.split(","):
                words = part.split()
                found += [words[0], words[-1]] if words else []
            return [name for name in dict.fromkeys(found) if name != "*"]
        found = []
        for part in text.removeprefix("import ").split(","):
            words = part.split()
            if words:
                found += [words[0], words[0].rsplit(".", 1)[-1], words[-1]]
        return list(dict.fromkeys(found))
    if language in ("javascript", "typescript", "tsx"):
        clause = re.match(r"import\s+(?:type\s+)?(.*?)\s+from\b", statement)
        if clause is None:
            return []
        names = []
        for part in re.split(r"[{},]", clause.group(1)):
            words = IDENTIFIER.findall(part)
            names += [words[0], words[-1]] if words and words[0] != "as" else words[-1:]
        return list(dict.fromkeys(names))
    if language == "cpp":  # an #include names a file, not the names it declares
        return []
    if language == "rust" and "{" in statement:
        inside = statement[statement.index("{") + 1 : statement.rindex("}")]
        return [words[-1] for part in inside.split(",") if (words := IDENTIFIER.findall(part))]
    identifiers = IDENTIFIER.findall(statement)
    return identifiers[-1:] if identifiers else []


def outline(path: str, text: str, language: str) -> Outline:
    """The outline of `text` (a file at `path` written in `language`); empty for other languages."""
    result = Outline(path, language)
    kinds = DEFINITIONS.get(language)
    if kinds is None:
        return result
    data = text.encode("utf-8")
    root = parser(language).parse(data).root_node
    imports = IMPORTS.get(language, set())
    stack = list(reversed(root.named_children))
    while stack and len(result.symbols) < MAX_SYMBOLS:
        node = stack.pop()
        if node.type in imports:
            statement = " ".join(_text(node, data).split())
            result.imports.append(statement)
            result.imported_names += imported_names(statement, language)
            continue
        if node.type in (
            "decorated_definition",
            "export_statement",
            "template_declaration",
            "type_declaration",
        ):
            stack.extend(reversed(node.named_children))
            continue
        if node.type not in kinds:
            continue
        name = _name(node, data)
        if name is None:
            continue
        kind = kinds[node.type]
        members = _members(node, data, language, kinds) if kind in ("class", "impl", "type") else []
        snippet = _snippet(node, data, language)
        if members:
            unique = list({_name(m, data): m for m in reversed(members)}.values())  # a property's setter
            shown = sorted(unique, key=lambda m: _member_order(m, data))[:MAX_MEMBERS]
            shown.sort(key=lambda m: m.start_byte)
            inner = "\n".join(f"    {one_line(_signature(member, data))}" for member in shown)
            more = "\n    ..." if len(unique) > len(shown) else ""
            snippet = (
                f"{snippet}\n{inner}{more}" if language == "python" else f"{snippet} {{\n{inner}{more}\n}}"
            )
        result.symbols.append(Symbol(name, kind, path, node.start_point[0], snippet))
        for member in members:
            member_name = _name(member, data)
            if member_name is not None:
                result.symbols.append(
                    Symbol(
                        member_name,
                        "method",
                        path,
                        member.start_point[0],
                        _snippet(member, data, language),
                        name,
                    )
                )
    result.imported_names = list(dict.fromkeys(result.imported_names))
    return result
