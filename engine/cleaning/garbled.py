"""Cut a candidate at the first character no source file means to hold.

Samples decode token by token, and a token can end inside a multi-byte UTF-8 character: cut there (by
the token limit or a stop), the decoder writes U+FFFD, the replacement character. Small or undertrained
models also emit stray control characters (NUL, ESC, DEL, C1 controls) and unassigned code points. Shown
as ghost text they look like a broken editor, and accepted they corrupt the file: a NUL makes many tools
treat the file as binary. What comes before the first such character is still a normal completion, so the
candidate is cut there rather than dropped (`near_empty` drops it if nothing is left).

Garbled means: U+FFFD, a control character other than tab, line feed and carriage return, a lone
surrogate, or an unassigned code point. A character the document itself already contains is accepted (a
form feed in a file that uses them between sections, say): the file shows the author meant it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from engine.document import Completion, DocumentContext

_KEPT_CONTROLS = "\t\n\r"
_GARBLED_CATEGORIES = ("Cc", "Cs", "Cn")


def garbled(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion up to its first garbled character (unchanged when it has none)."""
    for position, char in enumerate(completion.text):
        if _is_garbled(char) and char not in context.text:
            return replace(completion, text=completion.text[:position])
    return completion


def _is_garbled(char: str) -> bool:
    if char == "\ufffd":
        return True
    return unicodedata.category(char) in _GARBLED_CATEGORIES and char not in _KEPT_CONTROLS
