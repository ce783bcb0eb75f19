"""Cut a completion that loops.

Small and heavily sampled models fall into loops: the same line, or the same two to four lines, over and
over until the token limit. Users see a wall of `x += 1` or of identical test functions and lose trust in
every suggestion. This filter finds the first line or block of 2-4 lines that repeats three or more times
in a row and keeps only its first occurrence. When the completion is nothing but that loop (it starts with
it, and only a cut-off piece of one more repetition follows), it is dropped.

Lines are compared as they will read in the document (the first one behind the cursor line's text), with
their indentation and without trailing spaces, so a staircase of closing braces is not a loop, and blocks without any letter or digit (`}`, `);`, blank lines) never count as a repeated
unit. Legitimately repeated lines, such as three identical rows of a table, are cut as well: the rule is
kept simple.
"""

from __future__ import annotations

from dataclasses import replace

from engine.cleaning.common import drop_trailing_blank_lines
from engine.document import Completion, DocumentContext

MIN_REPEATS = 3
MAX_BLOCK_LINES = 4


def repetition(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion cut after the first occurrence of a loop; None if it is only the loop."""
    lines = completion.text.split("\n")
    keys = [line.rstrip() for line in [context.line_prefix + lines[0], *lines[1:]]]
    for start in range(len(keys)):
        for size in range(1, MAX_BLOCK_LINES + 1):
            unit = keys[start : start + size]
            if len(unit) < size or not _meaningful(unit):
                continue
            repeats = _repeats(keys, start, unit)
            if repeats >= MIN_REPEATS:
                if start == 0 and _only_a_piece_of(keys[repeats * size :], unit):
                    return None
                return replace(completion, text=drop_trailing_blank_lines("\n".join(lines[: start + size])))
    return completion


def _meaningful(unit: list[str]) -> bool:
    return any(char.isalnum() for line in unit for char in line)


def _repeats(keys: list[str], start: int, unit: list[str]) -> int:
    """How many times `unit` occurs back to back from `start` (the last one may lack its blank lines)."""
    count, size = 1, len(unit)
    while True:
        chunk = keys[start + count * size : start + (count + 1) * size]
        if chunk == unit:
            count += 1
        elif chunk and chunk == unit[: len(chunk)] and not any(unit[len(chunk) :]):
            return count + 1
        else:
            return count


def _only_a_piece_of(rest: list[str], unit: list[str]) -> bool:
    """Whether `rest` is blank or the start of one more `unit`, its last line possibly cut short."""
    while rest and not rest[-1].strip():
        rest = rest[:-1]
    if len(rest) > len(unit):
        return False
    return all(
        line == unit[index] or (index == len(rest) - 1 and unit[index].startswith(line))
        for index, line in enumerate(rest)
    )
