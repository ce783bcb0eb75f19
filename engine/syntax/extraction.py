"""Code out of a model's chat response, by the CodeScaler reference rule or a lenient one.

The reward model was trained on extracted code only, so what it scores must be extracted exactly as the
reference extracts it:

* `reference` (default): the whole response must hold **exactly one** fenced block
  (```` ```tag\\n...``` ````, tag optional). Its body, stripped, is the code; zero or several blocks give
  empty code (which shaping then rewards 0).
* `lenient`: the **last** complete fenced block; failing that, an unterminated block at the end of the
  response (a generation cut off by its token limit); failing that, empty. For ablations and for chat
  models that show several snippets before their answer.

The fence tag is returned too, so the caller can take the language from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ExtractionMode = Literal["reference", "lenient"]

# Same matching as the reference pattern ```(?:\w+)?\n(.*?)``` with the tag captured.
_FENCED = re.compile(r"```(\w+)?\n(.*?)```", re.DOTALL)
_UNTERMINATED = re.compile(r"```(\w+)?\n(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class Extracted:
    """Code taken from a response; `code` is "" when the rule found none, and `blocks` says how many."""

    code: str
    tag: str | None
    blocks: int


def extract_code(response: str, mode: ExtractionMode = "reference") -> Extracted:
    """Apply the extraction rule named by `mode` to a model response."""
    blocks = _FENCED.findall(response)
    if mode == "reference":
        if len(blocks) != 1:
            return Extracted("", None, len(blocks))
        tag, body = blocks[0]
        return Extracted(body.strip(), tag or None, 1)
    if mode == "lenient":
        if blocks:
            tag, body = blocks[-1]
            return Extracted(body.strip(), tag or None, len(blocks))
        tail = _UNTERMINATED.search(response)
        if tail:
            return Extracted(tail.group(2).strip(), tail.group(1) or None, 0)
        return Extracted("", None, 0)
    raise ValueError(f"unknown extraction mode {mode!r}: use 'reference' or 'lenient'")
