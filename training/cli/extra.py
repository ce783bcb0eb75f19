"""Training commands need the `train` extra; without it they say so in one line, before any work (not a
traceback from deep inside, minutes in)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from engine.errors import CodescalerError

INSTALL = "pip install -e '.[train]' in a clone, or pip install 'codescaler-VERSION-py3-none-any.whl[train]' for a wheel"


def missing(extra: str, requirements: Iterable[str]) -> list[str]:
    """The distributions of `extra` (from requirement strings as package metadata lists them) that are not
    installed."""
    from importlib.metadata import PackageNotFoundError, version

    absent = []
    for requirement in requirements:
        if not re.search(rf"""extra\s*==\s*["']{re.escape(extra)}["']""", requirement):
            continue
        name = re.split(r"[\s;=<>!~\[(]", requirement.strip(), maxsplit=1)[0]
        try:
            version(name)
        except PackageNotFoundError:
            absent.append(name)
    return absent


def needs_train_extra(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command, checking first that the `train` extra is installed."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from importlib.metadata import requires

        if absent := missing("train", requires("codescaler") or []):
            raise CodescalerError(
                f"this command needs the 'train' extra (missing: {', '.join(absent)}): {INSTALL}"
            )
        return command(*args, **kwargs)

    return run
