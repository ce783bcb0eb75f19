"""LSP positions <-> code-point offsets, in the encoding the client negotiated.

The engine works in code points. LSP `character` counts utf-16 code units by default, utf-8 bytes for
clients such as Neovim, or code points (utf-32). Lines end at `\\n`, `\\r\\n` or `\\r` and nowhere else
(unlike `str.splitlines`, which also splits at form feeds and U+2028). A position past the end of its
line or of the document is an error here rather than silently clamped: the client and server disagree
about the text, and a completion computed at a guessed place would be inserted in the wrong spot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PositionError(ValueError):
    """A position that is not inside the document."""


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@dataclass(frozen=True)
class LineIndex:
    """Where each line of a document starts, for converting positions in either direction."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]  # where each line's content ends (before its line break)

    @classmethod
    def of(cls, text: str) -> LineIndex:
        starts, ends = [0], []
        for match in _LINE_BREAK.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        return cls(text, tuple(starts), tuple(ends))

    def offset(self, line: int, character: int, encoding: str) -> int:
        """The code-point offset of an LSP position; `PositionError` when it is outside the document."""
        if not 0 <= line < len(self.starts):
            raise PositionError(f"line {line} is outside the document (0..{len(self.starts) - 1})")
        start, end = self.starts[line], self.ends[line]
        if character < 0:
            raise PositionError(f"negative character {character}")
        if encoding == "utf-32":
            if character > end - start:
                raise PositionError(f"character {character} is past the end of line {line}")
            return start + character
        units = 0
        for index in range(start, end):
            if units >= character:
                break
            units += _units(self.text[index], encoding)
        else:
            index = end
        if units < character:
            raise PositionError(f"character {character} is past the end of line {line}")
        if units > character:
            raise PositionError(f"character {character} splits a character on line {line}")
        return index

    def position(self, offset: int, encoding: str) -> tuple[int, int]:
        """The LSP (line, character) of a code-point offset."""
        offset = max(0, min(offset, len(self.text)))
        low, high = 0, len(self.starts) - 1
        while low < high:  # the last line starting at or before `offset`
            middle = (low + high + 1) // 2
            if self.starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        start = self.starts[low]
        return low, _units(self.text[start:offset], encoding)
