"""Indent a completion the way the document is indented.

Models do not always follow a file's indentation: spaces in a tab-indented Go file, four-space steps in a
two-space JavaScript file, or the cursor line's indentation typed a second time when the cursor already
stands on an indented empty line. Users then accept code that their formatter rewrites, that mixes tabs
and spaces (a `TabError` in Python), or that lands one level too deep.

The document's unit is detected from its lines (tabs when most indented lines start with a tab, otherwise
the most common step between consecutive lines, 2 to 8 spaces); the completion's from its own lines. When
they differ, the completion's lines after the first are re-indented level by level: a tab becomes one
document unit, spaces become tabs at the completion's width, and a space width is converted relative to
the cursor line's indentation. Lines whose indentation is not a whole number of levels (alignment) and
lines at the left margin are left alone, and nothing changes when either unit cannot be told. First, when the cursor is on an empty
line that is indented and the completion starts with exactly that indentation, the duplicate is removed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from engine.cleaning.common import is_blank, leading_whitespace
from engine.document import Completion, DocumentContext

_STEPS = range(2, 9)  # a 1-space step is alignment (` * ` in doc comments), not indentation
_GUESSED_WIDTHS = (4, 2)  # for spaces in a tab-indented document when the completion shows no step


def indentation(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion re-indented in the document's style."""
    text = _without_duplicated_indent(completion.text, context)
    unit = document_unit(context.text.split("\n"))
    if unit is not None:
        text = _convert(text, context, unit)
    return completion if text == completion.text else replace(completion, text=text)


def document_unit(lines: Iterable[str]) -> str | None:
    """The indentation unit of `lines`: a tab, a run of spaces, or None when it cannot be told."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = ""
    for line in lines:
        if is_blank(line):
            continue
        indent = leading_whitespace(line)
        tabs += indent.startswith("\t")
        spaces += indent.startswith(" ")
        if _spaces_only(indent) and _spaces_only(previous) and len(indent) - len(previous) in _STEPS:
            steps[len(indent) - len(previous)] += 1
        previous = indent
    if tabs > spaces:
        return "\t"
    if not steps:
        return None
    return " " * min(steps, key=lambda width: (-steps[width], width))


def _spaces_only(indent: str) -> bool:
    return set(indent) <= {" "}


def _without_duplicated_indent(text: str, context: DocumentContext) -> str:
    prefix = context.line_prefix
    on_indented_empty_line = prefix and is_blank(prefix) and is_blank(context.line_suffix)
    if on_indented_empty_line and leading_whitespace(text) == prefix:
        return text[len(prefix) :]
    return text


def _convert(text: str, context: DocumentContext, unit: str) -> str:
    lines = text.split("\n")
    if unit == "\t":
        converted = _spaces_to_tabs(lines[1:])
    else:
        converted = _tabs_to_spaces(lines[1:], len(unit))
        converted = _rescale_spaces(converted, _anchor(lines[0], context), len(unit))
    return "\n".join([lines[0], *converted])


def _anchor(first_line: str, context: DocumentContext) -> str:
    """The indentation of the cursor line once the completion's first line is in it."""
    if is_blank(context.line_prefix):
        return context.line_prefix + leading_whitespace(first_line)
    return leading_whitespace(context.line_prefix)


def _spaces_to_tabs(lines: list[str]) -> list[str]:
    indents = [len(leading_whitespace(line)) for line in lines if _space_indented(line)]
    width = _completion_step(indents, "")
    if width is None:
        width = next((w for w in _GUESSED_WIDTHS if all(n % w == 0 for n in indents)), None)
    if width is None:
        return lines
    result = []
    for line in lines:
        levels, remainder = divmod(len(leading_whitespace(line)), width)
        fits = _space_indented(line) and remainder == 0
        result.append(_reindent(line, "\t" * levels) if fits else line)
    return result


def _tabs_to_spaces(lines: list[str], width: int) -> list[str]:
    result = []
    for line in lines:
        indent = leading_whitespace(line)
        tabs = len(indent) - len(indent.lstrip("\t"))
        result.append(" " * (tabs * width) + line[tabs:] if tabs and not is_blank(line) else line)
    return result


def _rescale_spaces(lines: list[str], anchor: str, width: int) -> list[str]:
    """Space indentation at the completion's step converted to `width`, relative to the anchor line."""
    if not _spaces_only(anchor):
        return lines
    indents = [len(leading_whitespace(line)) for line in lines if _space_indented(line)]
    step = _completion_step(indents, anchor)
    if step is None or step == width:
        return lines
    result = []
    for line in lines:
        levels, remainder = divmod(len(leading_whitespace(line)) - len(anchor), step)
        target = len(anchor) + levels * width
        fits = _space_indented(line) and line[0] == " " and remainder == 0 and target >= 0
        result.append(_reindent(line, " " * target) if fits else line)
    return result


def _completion_step(indents: list[int], anchor: str) -> int | None:
    """The completion's indentation step: the gcd of its increases (from the anchor on), if one shows."""
    previous = len(anchor) if _spaces_only(anchor) and anchor else None
    increases = []
    for indent in indents:
        if previous is not None and indent > previous:
            increases.append(indent - previous)
        previous = indent
    step = math.gcd(*increases) if increases else 0
    return step if step in _STEPS else None


def _space_indented(line: str) -> bool:
    return not is_blank(line) and _spaces_only(leading_whitespace(line))


def _reindent(line: str, indent: str) -> str:
    return indent + line.lstrip(" \t")
