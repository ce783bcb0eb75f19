"""From (document, cursor, completion) to the reward model's (question, code).

The reward model judges a program against a problem. At a cursor there is no problem statement, so one is
built from the document, and the "program" is the code unit the completion lands in:

* **code** — the innermost enclosing code unit (function, method, class; else the top-level statements
  the insertion touches) of the document *with the completion inserted*; without a grammar, the lines
  around the insertion.
* **question** — the language and path, then the code just before that unit (imports, signatures,
  comments, earlier functions; up to `lines_before` lines) and just after it (up to `lines_after`),
  each as a fenced block; with repository context (`context.repo`), the definitions from other files
  it holds (signatures and docstrings, up to `REPO_CHARS`, best first), so a call is judged against the
  real definitions. The reward formatter's token budget then shortens the question first.

Serving, training and evaluation all call `editor_reward_pair`, so a score of an editor candidate means
the same thing everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.document import Completion, DocumentContext
from engine.syntax.languages import line_comment
from engine.syntax.validity import parser

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

UNIT_TYPES = {
    "python": {"function_definition", "class_definition", "decorated_definition"},
    "javascript": {
        "function_declaration",
        "method_definition",
        "class_declaration",
        "generator_function_declaration",
    },
    "typescript": {"function_declaration", "method_definition", "class_declaration", "interface_declaration"},
    "tsx": {"function_declaration", "method_definition", "class_declaration", "interface_declaration"},
    "go": {"function_declaration", "method_declaration", "type_declaration"},
    "rust": {"function_item", "impl_item", "struct_item", "enum_item", "trait_item"},
    "java": {"method_declaration", "constructor_declaration", "class_declaration", "interface_declaration"},
    "cpp": {"function_definition", "class_specifier", "struct_specifier"},
}
FALLBACK_LINES = 20
REPO_CHARS = 1_500  # of definitions from other files in the question


def _unit_span(root: Node, language: str, start: int, end: int) -> tuple[int, int]:
    """Byte span of the innermost code unit holding [start, end], else of the top-level nodes it touches."""
    node = root.descendant_for_byte_range(start, max(start, end - 1))
    while node is not None:
        if node.type in UNIT_TYPES.get(language, ()):
            return node.start_byte, node.end_byte
        node = node.parent
    touched = [child for child in root.children if child.end_byte >= start and child.start_byte <= end]
    if not touched:
        return start, end
    return touched[0].start_byte, touched[-1].end_byte


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Character span of the whole lines covering [start, end]."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def _fenced(language: str, code: str) -> str:
    return f"```{language}\n{code}\n```"


def editor_reward_pair(
    context: DocumentContext,
    completion: Completion,
    lines_before: int = 60,
    lines_after: int = 20,
    tree: Tree | None = None,
) -> tuple[str, str]:
    """The (question, code) the reward model scores for `completion` at the cursor of `context`.

    `tree` is the parse of the document with the completion inserted, when the caller has it
    (`ParsedDocument.insert`); otherwise the document is parsed here.
    """
    text = completion.applied_to(context)
    start, end = context.offset, context.offset + len(completion.text)
    language = context.language
    if language:
        data = text.encode("utf-8")
        start_byte = len(text[:start].encode("utf-8"))
        end_byte = start_byte + len(completion.text.encode("utf-8"))
        root = (tree or parser(language).parse(data)).root_node
        byte_start, byte_end = _unit_span(root, language, start_byte, end_byte)
        unit_start = len(data[:byte_start].decode("utf-8", errors="ignore"))
        unit_end = len(data[:byte_end].decode("utf-8", errors="ignore"))
    else:  # no grammar: the insertion with the lines just above it
        above = text[:start].split("\n")
        unit_start = (
            len("\n".join(above[: -FALLBACK_LINES - 1])) + 1 if len(above) > FALLBACK_LINES + 1 else 0
        )
        unit_end = end
    unit_start, unit_end = _line_bounds(text, unit_start, unit_end)
    code = text[unit_start:unit_end]
    before = "\n".join(text[:unit_start].rstrip("\n").split("\n")[-lines_before:]) if unit_start else ""
    after = "\n".join(text[unit_end:].lstrip("\n").split("\n")[:lines_after]).rstrip()
    shown = language or "text"
    parts = [f"Complete the code in {context.path or 'an untitled file'} (language: {shown})."]
    if before.strip():
        parts.append("Code before it:\n" + _fenced(shown, before))
    if after.strip():
        parts.append("Code after it:\n" + _fenced(shown, after))
    if definitions := _repo_definitions(context):
        parts.append("Definitions from other files of the repository:\n" + _fenced(shown, definitions))
    return "\n\n".join(parts), code


def _repo_definitions(context: DocumentContext) -> str:
    """The repository's definitions in `context.repo`, each under its file's path, within `REPO_CHARS`."""
    mark = line_comment(context.language)
    blocks, used = [], 0
    for snippet in context.repo:
        if snippet.kind != "definition":
            continue
        block = f"{mark} {snippet.path}\n{snippet.text}"
        if used + len(block) > REPO_CHARS:
            break
        blocks.append(block)
        used += len(block)
    return "\n\n".join(blocks)
