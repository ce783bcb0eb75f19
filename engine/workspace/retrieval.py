"""The repository context of one request: the definitions the code at the cursor needs, then similar code.

Within a character budget, in this order:

1. **Definitions of the names the cursor needs**: identifiers of the ~30 lines before the cursor that
   are defined in another file of the workspace, nearest to the cursor first, names the file imports
   ahead of names it does not; then the rest of the file's imported names, since the cursor may be
   about to use one. Where a name has several definitions, the one in the module the file imports it
   from is taken. A class's snippet holds its methods' signatures, so its methods are not added again.
   Every definition first gets its signature on one line (`compact`); then the names used near the
   cursor get their whole snippet (docstring, methods) while the budget lasts (`_pack`).
2. **Similar code** from the other open or recently edited files: windows of 12 lines (stride 6,
   indexed when the file changes), ranked by BM25 over identifiers against the ~10 lines before the
   cursor (the "BM25 over identifiers" retriever of CrossCodeEval), best first.

Everything comes from the index, which holds only files inside the workspace.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from engine.protocol import ContextSnippet
from engine.syntax.languages import language_for_path
from engine.workspace.index import Windows, WorkspaceIndex
from engine.workspace.outline import IDENTIFIER, MAX_SIGNATURE_CHARS, Outline, Symbol, one_line, outline
from engine.workspace.python_imports import from_imports, module_aliases

NEAR_CURSOR_CHARS = 2_000  # about 30 lines before the cursor
QUERY_LINES = 10
MAX_DEFINITIONS_PER_NAME = 2
MAX_MODULE_MEMBERS = 20
ATTRIBUTE_AT_CURSOR = re.compile(r"\b([A-Za-z_]\w*)\.(\w*)$")
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


def _module_members(
    text: str, cursor: int, own: Outline, own_path: str | None, index: WorkspaceIndex
) -> tuple[list[Symbol], str]:
    """When the cursor is writing an attribute of a workspace module the file imports whole (`utils.` or
    `utils.lo`): the module's top-level definitions, those that begin with what is typed first, then
    those the document already uses most (`nodes.Call` elsewhere in it), then in the module's order
    (private ones only when what is typed is private too); and what is typed."""
    match = (
        ATTRIBUTE_AT_CURSOR.search(text[max(0, cursor - 200) : cursor]) if own.language == "python" else None
    )
    if match is None:
        return [], ""
    path = module_aliases(own, own_path, index).get(match.group(1))
    module = index.outline_of(path) if path and path != own_path else None
    if module is None:
        return [], ""
    typed = match.group(2)
    members = [
        symbol
        for symbol in module.symbols
        if symbol.container is None and (not symbol.name.startswith("_") or typed.startswith("_"))
    ]
    uses = Counter(re.findall(rf"\b{re.escape(match.group(1))}\.([A-Za-z_]\w*)", text))
    members.sort(
        key=lambda symbol: (not symbol.name.startswith(typed), -uses[symbol.name])
    )  # then file order
    return members[:MAX_MODULE_MEMBERS], typed


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


def _definitions(
    name: str, sources: dict[str, tuple[str, str]], own_path: str | None, index: WorkspaceIndex
) -> list[Symbol]:
    """The definitions of `name` to offer: the one in the file its import resolves to (`sources`, from
    `from_imports`), when there is one; else up to `MAX_DEFINITIONS_PER_NAME`, functions and classes
    before methods."""
    found = [s for s in index.definitions(name) if s.path != own_path]
    source = sources.get(name)
    imported = [s for s in found if source is not None and s.path == source[1]]
    if imported:
        return imported[:1]
    found.sort(key=lambda s: (s.kind == "method", s.path, s.line))
    return found[:MAX_DEFINITIONS_PER_NAME]


def compact(snippet: str) -> str:
    """A definition's signature on one line, and its constructor's (`__init__`, `constructor`) when it
    has one: how to call it, in a line or two, for names the cursor may need but does not show."""
    lines = snippet.split("\n")
    first = next((i for i, line in enumerate(lines) if not line.lstrip().startswith(("#", "//", "@"))), 0)
    head, depth = [], 0
    for line in lines[first:]:  # a signature written over several lines ends where its brackets close
        head.append(line.strip())
        depth += line.count("(") - line.count(")")
        if depth <= 0:
            break
    signature = one_line("\n".join(head), MAX_SIGNATURE_CHARS)
    init = next((line for line in lines[1:] if re.match(r"\s*(def __init__|constructor)\b", line)), None)
    return signature if init is None else f"{signature}\n{init}"


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


def _cost(path: str, text: str) -> int:
    """What a snippet takes of the budget: its text and the path line it is shown under."""
    return len(text) + len(path) + 1


def _pack(wanted: list[tuple[Symbol, bool]], budget_chars: int) -> tuple[list[ContextSnippet], int, int]:
    """The definitions that fit `budget_chars`, in the order given, and the characters used and the number
    left out. Every definition first gets how to call it (`compact`); then those the code near the cursor
    uses get their whole snippet (docstring, methods), in order, while the budget lasts, so that one big
    class cannot push out the signature of the name the user is about to write."""
    texts: dict[int, str] = {}
    used = 0
    for number, (symbol, _) in enumerate(wanted):
        short = compact(symbol.snippet)
        if used + _cost(symbol.path, short) <= budget_chars:
            texts[number] = short
            used += _cost(symbol.path, short)
    for number, (symbol, is_near) in enumerate(wanted):
        if not is_near or number not in texts:
            continue
        extra = len(symbol.snippet) - len(texts[number])
        if used + extra <= budget_chars:
            texts[number] = symbol.snippet
            used += extra
    snippets = [
        ContextSnippet(
            path=symbol.path, text=texts[n], symbol=symbol.name, kind="definition", line=symbol.line
        )
        for n, (symbol, _) in enumerate(wanted)
        if n in texts
    ]
    return snippets, used, len(wanted) - len(texts)


def retrieve(index: WorkspaceIndex, path: str | None, text: str, cursor: int, budget_chars: int) -> Retrieval:
    """The context for a request at `cursor` in `text` (the file at `path`), at most `budget_chars`."""
    own_path = index.relative(path) if path else None
    language = language_for_path(path or "") or ""
    indexed = index.outline_of(own_path) if own_path else None  # kept current by the caller's updates
    own = indexed or (outline(own_path or "", text, language) if language else Outline(own_path or "", ""))
    near = set(IDENTIFIER.findall(text[max(0, cursor - NEAR_CURSOR_CHARS) : cursor]))
    wanted: list[tuple[Symbol, bool]] = []  # each definition, and whether the code near the cursor uses it
    added: set[tuple[str, int]] = set()
    classes: set[tuple[str, str]] = set()  # (path, name) of the classes added: their methods are in them
    sources = from_imports(own, own_path, index) if own.language == "python" else {}

    def want(symbol: Symbol, whole: bool) -> None:
        key = (symbol.path, symbol.line)
        if key in added or (symbol.container and (symbol.path, symbol.container) in classes):
            return
        added.add(key)
        if symbol.kind in ("class", "impl", "type"):
            classes.add((symbol.path, symbol.name))
        wanted.append((symbol, whole))

    members, typed = _module_members(text, cursor, own, own_path, index)
    for symbol in members:  # `utils.|`: what `utils` offers, the names that begin with what is typed whole
        want(symbol, bool(typed) and symbol.name.startswith(typed))
    for name in _wanted_names(text, cursor, own, own_path, index):
        for symbol in _definitions(name, sources, own_path, index):
            want(symbol, name in near)
    snippets, used, dropped = _pack(wanted, budget_chars)

    def add(snippet: ContextSnippet) -> None:
        nonlocal used, dropped
        cost = _cost(snippet.path, snippet.text)
        if used + cost > budget_chars:
            dropped += 1
            return
        snippets.append(snippet)
        used += cost

    lines = text[:cursor].split("\n")
    query = "\n".join(lines[-QUERY_LINES:])
    others = [windows for windows in index.recent_windows() if windows.path != own_path]
    for window_path, start, body, _ in similar_windows(query, others, limit=8):
        if used >= budget_chars:
            break
        add(ContextSnippet(path=window_path, text=body, symbol=None, kind="similar", line=start))
    return Retrieval(snippets, dropped)
