"""The one exception type users see.

Every failure a user can fix (a missing model folder, a malformed input row, an unreachable server) is
raised as `CodescalerError` with a one-line message that says what is wrong and what to do. The CLI prints
that line and exits non-zero instead of showing a traceback; anything else is a bug and keeps its traceback.
"""


class CodescalerError(Exception):
    """A problem with the user's input or environment, explained in one line."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: library errors are often pages long."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
