"""Emacs + eglot as a real client of `codescaler lsp` over stdio.

eglot is a client nobody on the team wrote, with its own ideas: it offers no position encoding (so the
server must fall back to UTF-16), shows each item's label as the candidate, orders candidates by sortText
and, on acceptance, replaces the inserted label with the item's textEdit. The probe
(clients/eglot_probe.el) goes through eglot's real completion-at-point function, the path M-TAB, company
and corfu take, and accepts the best candidate; a wrong range or encoding shows up as a mangled line.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.editor_probe import editor_env, probe_vars, run_probe

PROBE = Path(__file__).parent / "clients" / "eglot_probe.el"
HAS_EGLOT = """(progn (require 'package)
  (add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
  (package-initialize)
  (kill-emacs (if (require 'eglot nil t) 0 3)))"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emacs_run(
    tiny_models: dict[str, Path], codescaler_cli: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One probe run, shared by the tests below (starting the server and loading the models takes seconds)."""
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not installed (apt-get install emacs-nox elpa-eglot; see .ci/install)")
    root = tmp_path_factory.mktemp("emacs")
    home, work = root / "home", root / "work"
    for folder in (home, work, home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    env = editor_env(home)
    check = subprocess.run(
        [emacs, "--batch", "-Q", "--eval", HAS_EGLOT], env=env, capture_output=True, timeout=60
    )
    if check.returncode != 0:
        pytest.skip(f"eglot is not installed for {emacs} (apt-get install elpa-eglot; see .ci/install)")
    pidfile = root / "server.pid"
    env.update(probe_vars(codescaler_cli, tiny_models, work, pidfile))
    # eglot kills its server on shutdown: whether it exited by itself is not eglot's to show
    return run_probe("emacs", [emacs, "--batch", "-Q", "-l", str(PROBE)], work, env, pidfile)


def _utf16_column(run: dict[str, Any]) -> int:
    line = run["client"]["line"]
    units = len(line.encode("utf-16-le")) // 2
    assert len(line.encode("utf-8")) > units > len(line), (
        "the probe's line must hold both CJK and an astral-plane emoji to tell the encodings apart"
    )
    return units


def test_eglot_sends_utf16_columns(emacs_run: dict[str, Any]) -> None:
    """eglot 1.9 offers no positionEncodings, so both sides must speak UTF-16 (the LSP default)."""
    client = emacs_run["client"]
    assert client["position"] == {"line": 0, "character": _utf16_column(emacs_run)}, emacs_run["report"]
    assert client["inline_provider"] is True, emacs_run["report"]


def test_completion_at_point_offers_codescaler_items_best_first(emacs_run: dict[str, Any]) -> None:
    report = emacs_run["report"]
    completion = emacs_run["completion"]
    candidates, items = completion["candidates"], completion["items"]
    assert candidates, f"completion-at-point found no candidates at the end of a comment line\n{report}"
    assert len(items) == len(candidates) and all(items), report
    assert [item["sortText"] for item in items] == sorted(item["sortText"] for item in items), report
    assert items[0]["detail"].startswith("codescaler #1 · "), items[0]
    rewards = [item["command"]["arguments"][0]["reward"] for item in items]
    assert rewards == sorted(rewards, reverse=True), f"best reward first: {rewards}"
    for candidate, item in zip(candidates, items, strict=True):
        assert "codescaler" in item["detail"], item
        # eglot shows the label; the label is the start of the suggestion (cut with "..." when long).
        assert candidate == item["label"].lstrip(), (candidate, item)
        assert item["textEdit"]["newText"].strip().startswith(candidate.removesuffix("...")), item


def test_accepting_the_best_candidate_applies_its_text_edit_at_the_cursor(emacs_run: dict[str, Any]) -> None:
    """eglot replaces the inserted label with the item's textEdit, converting its UTF-16 range itself."""
    completion = emacs_run["completion"]
    line = emacs_run["client"]["line"]
    best = completion["items"][0]["textEdit"]
    assert best["range"]["start"] == {"line": 0, "character": _utf16_column(emacs_run)}, best
    assert completion["buffer_after"] == line + best["newText"] + "\nx = 1\n", emacs_run["report"]


def test_inline_completion_answers_on_eglot_connection(emacs_run: dict[str, Any]) -> None:
    report = emacs_run["report"]
    inline = emacs_run["inline"]
    assert inline["position"] == emacs_run["client"]["position"], report
    items = inline["result"]["items"]
    assert 1 <= len(items) <= 3, f"Invoked asks for 1..invoked_items (3) items, got {len(items)}\n{report}"
    column = _utf16_column(emacs_run)
    for item in items:
        assert item["insertText"].strip(), item
        assert item["range"]["start"] == {"line": 0, "character": column}, item
        assert item["range"]["end"]["line"] == 0, item
        assert item["command"]["command"] == "codescaler.accepted", item
