"""Trim whitespace the editor would show as noise.

Models end completions with a line break, blank lines or trailing spaces, and start them with a space
after a cursor that already follows one. Accepted, these leave a stray empty line, trailing whitespace that
linters flag, a line joined to the cursor line's rest by a break, or a double space (`x =  1`). The rules:

* The line break and any blank lines at the end are removed: the document's own line break follows the
  insertion, and mid-line a trailing break would split the cursor line.
* Trailing spaces and tabs on the last line are removed, except when the rest of the cursor line follows
  the completion directly and starts with a word, a quote or an opening bracket (`foo(║bar)` + `x, `
  keeps its space; `foo(║)` + `x, ` does not).
* Leading spaces before a leading line break are removed (they would trail the cursor line), and so are
  leading spaces when the cursor already follows a space after code (`x = ║` + ` 1`). Leading spaces
  anywhere else are indentation or deliberate spacing (`return║` + ` x`) and are kept.

Trimming never drops a candidate; one left empty is dropped later by `near_empty`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.cleaning.common import is_blank, rest_of_line
from engine.document import Completion, DocumentContext

_TRAILING_BREAKS = re.compile(r"(?:\r?\n[ \t\r]*)+\Z")
_SPACES_BEFORE_BREAK = re.compile(r"\A[ \t]+(?=\r?\n)")
_SEPARATED_AFTER = ")]}>;,.:"  # the rest of the line may follow the completion without a space


def trim(completion: Completion, context: DocumentContext) -> Completion | None:
    """The completion without noise whitespace at its ends."""
    text = _TRAILING_BREAKS.sub("", completion.text)
    rest = rest_of_line(completion, context)
    if not rest or rest[0].isspace() or rest[0] in _SEPARATED_AFTER:
        text = text.rstrip(" \t\r")
    text = _SPACES_BEFORE_BREAK.sub("", text)
    prefix = context.line_prefix
    if not is_blank(prefix) and prefix[-1] in " \t":
        text = text.lstrip(" \t")
    return completion if text == completion.text else replace(completion, text=text)
