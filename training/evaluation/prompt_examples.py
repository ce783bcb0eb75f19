"""The input/output examples a problem statement already shows, as tests a candidate can be run on.

HumanEval prompts show doctests (`>>> f(3)` then the expected output) or lines like `f(3) == 5`,
`f(3) ➞ 5`, `f(3) => 5`; MBPP prompts end with one `assert f(3) == 5` line. These are visible to the policy, so using them at selection time is fair (the
`examples` and `majority` selectors do); the hidden tests that decide correctness are something else.

Each example becomes an assert statement. When the example calls the function with literal arguments
only, its call is kept as plain data too (`fn_name`, `args`), so candidates' outputs on it can be compared
with each other.
"""

from __future__ import annotations

import ast
import doctest
import re
from dataclasses import dataclass
from typing import Any

_ARROW = re.compile(r"^([A-Za-z_]\w*\(.*\))\s*(?:==|➞|=>|->|→)\s*(.+?)\.?$")


@dataclass(frozen=True)
class Example:
    test: str  # an assert statement
    fn_name: str | None = None  # set when the example is a call with literal arguments
    args: tuple[Any, ...] = ()


def examples_from_question(question: str) -> list[Example]:
    """Doctest examples and top-level assert lines of `question`, in order, without duplicates."""
    found: list[Example] = []
    for example in _doctests(question):
        source, want = example.source.strip(), _before_docstring_end(example.want)
        if want and _expression(source) is not None and _expression(want) is not None:
            found.append(_example(f"assert ({source}) == ({want})", _expression(source)))
    for line in question.splitlines():
        text = line.strip()
        arrow = _ARROW.match(text)
        example = _example(f"assert ({arrow[1]}) == ({arrow[2]})", _expression(arrow[1])) if arrow else None
        if example is not None and example.fn_name and _expression(arrow[2]) is not None:
            found.append(example)  # prose examples only with literal arguments: `f(a) => 1` is not code
        elif text.startswith("assert "):
            tree = _statement(text)
            if isinstance(tree, ast.Assert):
                test = tree.test
                call = test.left if isinstance(test, ast.Compare) and len(test.ops) == 1 else None
                found.append(_example(text, call if isinstance(test.ops[0], ast.Eq) else None) if call
                             else Example(text))  # fmt: skip
    unique: dict[str, Example] = {}
    for example in found:
        unique.setdefault(example.test, example)
    return list(unique.values())


def _before_docstring_end(want: str) -> str:
    """A doctest's expected output, without the docstring's closing quotes the parser reads as part of it."""
    lines = []
    for line in want.splitlines():
        if line.strip().startswith(('"""', "'''")):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def _doctests(question: str) -> list[doctest.Example]:
    try:
        return doctest.DocTestParser().get_examples(question)
    except ValueError:  # inconsistent indentation inside a docstring: no usable examples
        return []


def _expression(text: str) -> ast.expr | None:
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return None


def _statement(text: str) -> ast.stmt | None:
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError):
        return None
    return body[0] if len(body) == 1 else None


def _example(test: str, call: ast.expr | None) -> Example:
    """The example, with its call as data when it is `name(literal, ...)`."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.keywords):
        return Example(test)
    try:
        args = tuple(ast.literal_eval(arg) for arg in call.args)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Example(test)
    return Example(test, call.func.id, args)
