"""The Emacs package (extensions/emacs/codescaler.el) in a real `emacs --batch`, with eglot 1.9.

tests/lsp/test_emacs.py checks the server against eglot configured by hand; this checks the package: the
server is configured only through its options and started by `codescaler-setup' (eglot-server-programs, the
python-mode hook, eglot-ensure), completion-at-point (C-M-i, *Completions*) inserts a ranked item, and its
inline preview (an overlay, since eglot 1.9 has no inline-completion UI) appears, cycles, hides, types
through and is accepted with its keys, which go through the command loop (`execute-kbd-macro').
The probe (clients/eglot_package_probe.el) records what a user would see; the tests judge it.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.editor_probe import answer_items, editor_env, probe_vars, run_probe
from tests.lsp.test_emacs import HAS_EGLOT

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "extensions" / "emacs"
PROBE = Path(__file__).parent / "clients" / "eglot_package_probe.el"
TOKEN = "probe-token-5d2e81"  # what the package must keep off the server's command line
# The server says "slow" when its first request waited for the models to load (see the report).
HEALTHY = ("ready", "slow")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_models: dict[str, Path], codescaler_cli: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not installed (apt-get install emacs-nox elpa-eglot; see .ci/install)")
    root = tmp_path_factory.mktemp("emacs-package")
    home, work = root / "home", root / "work"
    for folder in (home, work, home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    env = editor_env(home)
    env.pop("CODESCALER_ENGINE_TOKEN", None)
    check = subprocess.run(
        [emacs, "--batch", "-Q", "--eval", HAS_EGLOT], env=env, capture_output=True, timeout=60
    )
    if check.returncode != 0:
        pytest.skip(f"eglot is not installed for {emacs} (apt-get install elpa-eglot; see .ci/install)")
    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    pidfile = root / "server.pid"
    env.update(probe_vars(codescaler_cli, tiny_models, work, pidfile))
    env.update(CODESCALER_PROBE_PACKAGE=str(PACKAGE), CODESCALER_PROBE_TOKEN_FILE=str(token_file))
    return run_probe("emacs package probe", [emacs, "--batch", "-Q", "-l", str(PROBE)], work, env, pidfile)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_setup_registers_the_server_and_eglot_ensure_starts_it(run: dict[str, Any]) -> None:
    client, report = run["client"], run["report"]
    assert client["major_mode"] == "python-mode", report
    assert client["registered"] is True and client["server_class"] == "codescaler-server", report
    assert client["inline_mode"] is True and client["inline_provider"] is True, report
    options = client["init_options"]
    assert options["models"]["policy"] and options["models"]["reward_model"], options
    assert options["completion"] == {"n": 4, "max_new_tokens": 16, "line_mode": "single", "debounce_ms": 0}
    assert client["position"] == {"line": 0, "character": _utf16(client["line"])}, report


def test_the_engine_token_travels_in_the_environment_only(run: dict[str, Any]) -> None:
    client = run["client"]
    assert client["token_in_cmdline"] is False, "the token is visible in the server's command line (ps)"
    assert client["token_in_events"] is False, "the token is in eglot's events buffer (LSP messages)"
    assert client["token_in_environ"] is True, "the server did not get CODESCALER_ENGINE_TOKEN"
    assert run["accept"]["token_setting"] == "***", "the server did not take the token (stats redact it)"


def test_completion_at_point_inserts_the_best_ranked_item(run: dict[str, Any]) -> None:
    completion, report = run["completion"], run["report"]
    items = completion["items"]
    assert items and len(items) == len(completion["candidates"]), report
    assert [item["sortText"] for item in items] == sorted(item["sortText"] for item in items), items
    assert items[0]["detail"].startswith("codescaler #1 · "), items[0]
    line = run["client"]["line"]
    # *Completions* lists the candidates best first; choosing the first applies its whole textEdit.
    assert completion["line_after"] == line + items[0]["textEdit"]["newText"], completion


def test_the_inline_preview_shows_the_ranked_items_and_cycles(run: dict[str, Any]) -> None:
    cycle, report = run["cycle"], run["report"]
    first, nxt, prev = cycle["first"], cycle["next"], cycle["prev"]
    for shown in (first, nxt, prev):
        assert shown is not None, f"no inline preview\n{report}"
        assert shown["text"] == shown["item"]["insertText"] == shown["overlay"]["text"], shown
        assert shown["overlay"]["position"] == shown["point"] and shown["overlay"]["cursor_property"], shown
        assert shown["overlay"]["face"] == "codescaler-preview", shown
        assert shown["invoked"] is True, shown
    column = _utf16(run["client"]["line"])
    assert first["item"]["range"]["start"] == {"line": 0, "character": column}, first
    assert 1 <= first["count"] <= 3 and first["index"] == 0, first
    if first["count"] > 1:
        assert nxt["index"] == 1 and nxt["overlay"]["hint"] == f" (2/{first['count']})", nxt
        assert prev["index"] == 0 and prev["text"] == first["text"], prev
    assert answer_items(run["inline"], report)[0]["insertText"] == first["text"]


def test_dismiss_hides_the_preview_and_gives_tab_back(run: dict[str, Any]) -> None:
    dismiss = run["dismiss"]
    assert dismiss["overlay"] == {"count": 0} and dismiss["current"] is False, dismiss
    assert dismiss["tab"] == run["client"]["tab_without_suggestion"] == "indent-for-tab-command", dismiss


def test_tab_accepts_the_preview_and_reports_it(run: dict[str, Any]) -> None:
    accept = run["accept"]
    text = accept["shown"]["item"]["insertText"]
    assert accept["line"] == run["client"]["line"] + text, accept
    assert accept["point"] == accept["line_end"] and accept["overlay"] == {"count": 0}, accept
    assert accept["accepted_after"] > accept["accepted_before"], (
        "codescaler.accepted did not reach the server"
    )
    assert accept["shown_after"] >= 2, "textDocument/didShowCompletion was not sent"


def test_typing_asks_by_itself_and_types_through_the_preview(run: dict[str, Any]) -> None:
    typed = run["typed"]
    auto, after = typed["auto"], typed["after"]
    assert auto["invoked"] is False and auto["count"] == 1, auto
    assert auto["overlay"]["text"] == auto["text"] == auto["item"]["insertText"], auto
    assert after is not None, f"typing the first character of the preview hid it: {typed}"
    assert after["text"] == auto["text"][1:] == after["overlay"]["text"], typed
    assert after["point"] == auto["point"] + 1, typed
    assert typed["requests_after"] == typed["requests_before"], "typing through asked the server again"


def test_toggle_turns_suggestions_off_and_on(run: dict[str, Any]) -> None:
    toggle = run["toggle"]
    assert toggle["off_status"] == "off" and toggle["off_items"] == 0, toggle
    assert toggle["off_overlay"] == {"count": 0}, "typing showed a preview while codescaler was off"
    assert toggle["on_status"] in HEALTHY and toggle["on_items"] > 0, toggle


def test_status_command_and_restart(run: dict[str, Any]) -> None:
    restart = run["restart"]
    assert re.search(r"codescaler: (ready|slow) .*accepted [1-9]", restart["status_message"]), restart
    assert restart["new_server"] is True and restart["old_running"] is False, restart
    assert restart["shown"] is True and restart["inline_mode"] is True, restart
    statuses = run["status"]["statuses"]
    assert statuses[:2] == ["loading", "ready"], statuses
    second = len(statuses) - 1 - statuses[::-1].index("loading")  # the restarted server's
    assert second >= 2 and "ready" in statuses[second:], statuses
    assert all(a != b for a, b in itertools.pairwise(statuses)), "a status reported twice"


def test_no_server_outlives_emacs(run: dict[str, Any]) -> None:
    """eglot kills its server on shutdown; the pidfile lists both servers (before and after restart)."""
    assert run["server_exited"], "a codescaler server was still running after Emacs quit; killed it"
