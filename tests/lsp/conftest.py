"""Shared pieces of the language-server tests: the server command, editor settings for the tiny models,
and documents on which even random models give valid completions."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

CODESCALER = str(Path(sys.executable).with_name("codescaler"))
# No user config file may leak into the tests: an empty config home.
SERVER_ENV = {**os.environ, "XDG_CONFIG_HOME": tempfile.mkdtemp(prefix="codescaler-lsp-cfg-")}
SERVER_ENV.pop("CODESCALER_CONFIG", None)
# The end of a comment line: any single-line text is valid there, so random tiny models still give
# valid, rankable candidates. CJK and an emoji sit before the cursor to exercise position encodings.
COMMENT_DOC = "# 日本語 😀 note: \nx = 1\n"
COMMENT_CURSOR = (0, len("# 日本語 😀 note: "))  # (line, code points)


def units(text: str, encoding: str) -> int:
    """Length of `text` in the position units of `encoding`."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def editor_settings(tiny_models, **completion) -> dict:
    return {
        "models": {"policy": str(tiny_models["policy"]), "reward_model": str(tiny_models["reward"])},
        "completion": {"n": 4, "max_new_tokens": 16, "line_mode": "single", "debounce_ms": 0, **completion},
    }


@pytest.fixture(scope="session")
def lsp_env():
    return SERVER_ENV
