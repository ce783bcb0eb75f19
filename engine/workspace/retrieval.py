"""The repository context of one request: the definitions the code at the cursor needs, then similar code.

Within a character budget, in this order:

1. **Definitions of the names the cursor needs**: identifiers of the ~30 lines before the cursor that
   are defined in another file of the workspace, nearest to the cursor first, names the file imports
   ahead of names it does not, each with its signature and docstring; then the rest of the file's
   imported names, compactly (the signature line, and a class's constructor), since the cursor may be
   about to use one. Where a name has several definitions, the one in the module the file imports it
   from is taken. A class's snippet holds its methods' signatures, so its methods are not added again.
2. **Similar code** from the other open or recently edited files: windows of 12 lines (stride 6,
   indexed when the file changes), ranked by BM25 over identifiers against the ~10 lines before the
   cursor (the "BM25 over identifiers" retriever of CrossCodeEval), best first.

Everything comes from the index, which holds only files inside the workspace.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine.protocol import ContextSnippet
from engine.syntax.languages import language_for_path
from engine.workspace.index import Windows, WorkspaceIndex
from engine.workspace.outline import IDENTIFIER, Outline, Symbol, outline

NEAR_CURSOR_CHARS = 2_000  # about 30 lines before the cursor
QUERY_LINES = 10
MAX_DEFINITIONS_PER_NAME = 2
BM25_K1, BM25_B = 1.2, 0.75
KEYWORDS = frozenset(
    [
        "self",
        "cls",
        "True",
        "False",
        "None",
        "def",
        "class",
        "return",
        "import",
        "from",
        "as",
        "if",
        "else",
        "elif",
        "for",
        "while",
        "in",
        "not",
        "and",
        "or",
        "is",
        "with",
        "try",
        "except",
        "finally",
        "raise",
        "pass",
        "break",
        "continue",
        "lambda",
        "yield",
        "async",
        "await",
        "global",
        "nonlocal",
        "del",
        "assert",
        "function",
        "const",
        "let",
        "var",
        "new",
        "this",
        "null",
        "undefined",
        "func",
        "package",
        "struct",
        "impl",
        "pub",
        "fn",
        "mut",
        "use",
        "static",
        "void",
        "int",
        "str",
        "bool",
        "float",
        "public",
        "private",
        "protected",
    ]
)


@dataclass(frozen=True)
class Retrieval:
    """The context for one request and what was left out for lack of budget."""

    snippets: list[ContextSnippet]
    dropped: int


def _module_paths(statement: str) -> list[str]:
    """Candidate file paths of the module a Python `from X import ...` / `import X` statement names."""
    words = statement.split()
    if len(words) < 2:
        return []
    module = words[1].lstrip(".").replace(".", "/")
    return [f"{module}.py", f"{module}/__init__.py"] if module else []


def _wanted_names(
    text: str, cursor: int, own: Outline, own_path: str | None, index: WorkspaceIndex
) -> list[str]:
    """Names defined elsewhere in the workspace, in the order their definitions should be added: names
    used near the cursor that the file imports, or calls without defining them itself (nearest first,
    imported first); then the file's other imported names."""
    near = text[max(0, cursor - NEAR_CURSOR_CHARS) : cursor]
    by_distance: dict[str, int] = {}
    called: set[str] = set()
    for match in IDENTIFIER.finditer(near):
        by_distance[match.group()] = len(near) - match.start()  # later matches overwrite: the nearest
        if near[match.end() : match.end() + 1] == "(":
            called.add(match.group())
    imported = set(own.imported_names)
    local = {symbol.name for symbol in own.symbols}

    def elsewhere(name: str) -> bool:
        return name not in KEYWORDS and any(s.path != own_path for s in index.definitions(name))

    near_names = [
        name for name in sorted(by_distance, key=by_distance.__getitem__)
        if elsewhere(name) and (name in imported or (name in called and name not in local))
    ]  # fmt: skip
    near_names.sort(key=lambda name: name not in imported)  # stable: imported first, each by distance
    rest = [name for name in own.imported_names if name not in by_distance and elsewhere(name)]
    return near_names + rest


def _definitions(name: str, own: Outline, own_path: str | None, index: WorkspaceIndex) -> list[Symbol]:
    """The definitions of `name` to offer: the one in the module the file imports it from, when there is
    one; else up to `MAX_DEFINITIONS_PER_NAME`, functions and classes before methods."""
    found = [s for s in index.definitions(name) if s.path != own_path]
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    sources = [p for statement in own.imports if pattern.search(statement) for p in _module_paths(statement)]
    imported = [s for s in found if any(s.path.endswith(p) for p in sources)]
    if imported:
        return imported[:1]
    found.sort(key=lambda s: (s.kind == "method", s.path, s.line))
    return found[:MAX_DEFINITIONS_PER_NAME]


def compact(snippet: str) -> str:
    """A definition's first line, and its constructor's (`__init__`, `constructor`) when it has one: how
    to call it, in a line or two, for names the cursor may need but does not show."""
    lines = snippet.split("\n")
    head = next((line for line in lines if not line.lstrip().startswith(("#", "//", "@"))), lines[0])
    init = next((line for line in lines[1:] if re.match(r"\s*(def __init__|constructor)\b", line)), None)
    return head if init is None else f"{head}\n{init}"


def similar_windows(query: str, files: list[Windows], limit: int) -> list[tuple[str, int, str, float]]:
    """The `limit` windows of `files` most similar to `query` by BM25 over identifiers (score > 0), as
    (path, first line, text, score)."""
    terms = set(IDENTIFIER.findall(query)) - KEYWORDS
    total = sum(len(f.bodies) for f in files)
    if not total or not terms:
        return []
    average = sum(sum(f.lengths) for f in files) / total or 1.0
    frequency = {term: sum(len(f.postings.get(term, ())) for f in files) for term in terms}
    scores: dict[tuple[int, int], float] = {}
    for number, windows in enumerate(files):
        for term in terms:
            idf = math.log(1 + (total - frequency[term] + 0.5) / (frequency[term] + 0.5))
            for window, count in windows.postings.get(term, ()):
                norm = BM25_K1 * (1 - BM25_B + BM25_B * windows.lengths[window] / average)
                key = (number, window)
                scores[key] = scores.get(key, 0.0) + idf * count * (BM25_K1 + 1) / (count + norm)
    best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
    return [(files[f].path, files[f].starts[w], files[f].bodies[w], score) for (f, w), score in best]


def retrieve(index: WorkspaceIndex, path: str | None, text: str, cursor: int, budget_chars: int) -> Retrieval:
    """The context for a request at `cursor` in `text` (the file at `path`), at most `budget_chars`."""
    own_path = index.relative(path) if path else None
    language = language_for_path(path or "") or ""
    indexed = index.outline_of(own_path) if own_path else None  # kept current by the caller's updates
    own = indexed or (outline(own_path or "", text, language) if language else Outline(own_path or "", ""))
    snippets: list[ContextSnippet] = []
    used = dropped = 0
    added: set[tuple[str, int]] = set()
    classes: set[tuple[str, str]] = set()  # (path, name) of the classes added: their methods are in them

    def add(snippet: ContextSnippet) -> None:
        nonlocal used, dropped
        cost = len(snippet.text) + len(snippet.path) + 1
        if used + cost > budget_chars:
            dropped += 1
            return
        snippets.append(snippet)
        used += cost

    near = set(IDENTIFIER.findall(text[max(0, cursor - NEAR_CURSOR_CHARS) : cursor]))
    for name in _wanted_names(text, cursor, own, own_path, index):
        for symbol in _definitions(name, own, own_path, index):
            key = (symbol.path, symbol.line)
            if key in added or (symbol.container and (symbol.path, symbol.container) in classes):
                continue
            added.add(key)
            if symbol.kind in ("class", "impl", "type"):
                classes.add((symbol.path, symbol.name))
            add(
                ContextSnippet(
                    path=symbol.path,
                    text=symbol.snippet if name in near else compact(symbol.snippet),
                    symbol=symbol.name,
                    kind="definition",
                    line=symbol.line,
                )
            )
    lines = text[:cursor].split("\n")
    query = "\n".join(lines[-QUERY_LINES:])
    others = [windows for windows in index.recent_windows() if windows.path != own_path]
    for window_path, start, body, _ in similar_windows(query, others, limit=8):
        if used >= budget_chars:
            break
        add(ContextSnippet(path=window_path, text=body, symbol=None, kind="similar", line=start))
    return Retrieval(snippets, dropped)
