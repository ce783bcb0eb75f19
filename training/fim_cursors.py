"""Cursors an editor user would see, cut from a verified program: the middle taken out is what the policy
must fill back in.

Three kinds of span, all inside a function body (never the `def` line or a docstring), in the program
as `ast.unparse` writes it, so a cut never splits a layout quirk:

* `line`: one simple statement's whole line. The document keeps the line's indentation, so the cursor
  stands where a user would be after pressing Enter and Tab.
* `partial`: the rest of a simple statement's line after one of its tokens (`return ` ⟦`a + b`⟧,
  `total = sum(` ⟦`xs)`⟧): the cursor mid-line, as while typing.
* `block`: one compound statement (`for`, `while`, `if`, `with`, `try`) whole, from its first keyword
  to its last line: a multi-line fill.

Which spans a problem gets is decided by a seed, so a resumed run cuts the same cursors.
"""

from __future__ import annotations

import ast
import io
import random
import tokenize
from dataclasses import dataclass

from engine.document import DocumentContext
from engine.errors import CodescalerError

SPAN_KINDS = ("line", "partial", "block")
PATH_IN_EDITOR = "solution.py"  # gives the engine the language and the reward model a file name
COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)


@dataclass(frozen=True)
class Cursor:
    """The middle `program[start:end]` is taken out; the cursor stands at `start`."""

    span_kind: str
    start: int
    end: int

    def context(self, program: str) -> DocumentContext:
        """The document and cursor an editor would send."""
        return DocumentContext(
            program[: self.start] + program[self.end :], self.start, "python", PATH_IN_EDITOR
        )

    def middle(self, program: str) -> str:
        return program[self.start : self.end]

    def as_row(self) -> dict[str, object]:
        return {"span_kind": self.span_kind, "start": self.start, "end": self.end}


def _line_offsets(program: str) -> list[int]:
    offsets, total = [], 0
    for line in program.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    return offsets


def _body_statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement inside a function body, nested ones too, without docstrings."""
    found: list[ast.stmt] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            for name in ("body", "orelse", "finalbody"):
                block = getattr(node, name, [])  # a lambda's or a conditional expression's is one expression
                found += [s for s in block if not _is_docstring(s)] if isinstance(block, list) else []
    unique = {(s.lineno, s.col_offset): s for s in found}
    return [unique[key] for key in sorted(unique)]


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _split_points(line: str, start: int) -> list[int]:
    """Offsets in `line` (from `start`) just after a token, leaving at least one token after them."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line[start:] + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    ends = [t.end[1] for t in tokens if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    points = []
    for end in ends[:-1]:
        point = start + end
        while point < len(line) and line[point] == " ":  # after `return `, as a user types the space
            point += 1
        if point < len(line):
            points.append(point)
    return sorted(set(points))


def candidate_cursors(program: str) -> dict[str, list[Cursor]]:
    """Every cursor of each kind the program offers (empty lists when it does not parse)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return {kind: [] for kind in SPAN_KINDS}
    lines = program.splitlines(keepends=True)
    offsets = _line_offsets(program)
    found: dict[str, list[Cursor]] = {kind: [] for kind in SPAN_KINDS}
    for statement in _body_statements(tree):
        first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
        start = offsets[first] + statement.col_offset
        end = offsets[last] + len(lines[last].rstrip("\n"))
        if isinstance(statement, COMPOUND):
            found["block"].append(Cursor("block", start, end))
        elif first == last:
            found["line"].append(Cursor("line", start, end))
            line = lines[first].rstrip("\n")
            found["partial"] += [
                Cursor("partial", offsets[first] + point, end)
                for point in _split_points(line, statement.col_offset)
            ]
    return found


def choose_cursors(program: str, kinds: tuple[str, ...], per_kind: int, seed: int) -> list[Cursor]:
    """Up to `per_kind` cursors of each of `kinds`, chosen by `seed`, in program order within a kind."""
    rng = random.Random(seed)
    available = candidate_cursors(program)
    chosen = []
    for kind in kinds:
        options = available[kind]
        picked = rng.sample(options, min(per_kind, len(options)))
        chosen += sorted(picked, key=lambda cursor: cursor.start)
    return chosen


def parse_span_kinds(spans: str) -> tuple[str, ...]:
    """`--spans line,partial` as kinds; an unknown one is an error naming the choices."""
    kinds = tuple(dict.fromkeys(kind.strip() for kind in spans.split(",") if kind.strip()))
    unknown = [kind for kind in kinds if kind not in SPAN_KINDS]
    if unknown or not kinds:
        raise CodescalerError(
            f"unknown --spans {', '.join(unknown) or '(none)'}: use {', '.join(SPAN_KINDS)}"
        )
    return kinds
