"""The Neovim plugin (extensions/nvim) in a real headless Neovim 0.11, driven like a user.

tests/lsp/test_neovim.py checks the server against Neovim's LSP client with raw requests; this checks the
plugin: its setup() starts the server from a FileType autocmd with the tiny models and a token file, its
insert-mode autocmds ask for inline completions and draw them as extmarks, its keymaps (typed through
Neovim's input queue) cycle, dismiss and accept them, and its commands toggle, restart and report.
The probe (clients/nvim_plugin_probe.lua) records what a user would see; the tests judge it.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.editor_probe import answer_items, editor_env, probe_vars, run_probe
from tests.lsp.test_neovim import _nvim

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "extensions" / "nvim"
PROBE = Path(__file__).parent / "clients" / "nvim_plugin_probe.lua"
TOKEN = "probe-token-7f3a9c"  # what the plugin must keep off the server's command line

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_models: dict[str, Path], codescaler_cli: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("nvim-plugin")
    home, work = root / "home", root / "work"
    for folder in (home, work, home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    pidfile = root / "server.pid"
    env = {
        **editor_env(home),
        **probe_vars(codescaler_cli, tiny_models, work, pidfile),
        "CODESCALER_PROBE_PLUGIN": str(PLUGIN),
        "CODESCALER_PROBE_TOKEN_FILE": str(token_file),
        "CODESCALER_PROBE_DOC_COPY": str(root / "doc-copy"),
    }
    env.pop("CODESCALER_ENGINE_TOKEN", None)
    nvim, why = _nvim(env)
    if nvim is None:
        pytest.skip(why)
    log = home / ".local" / "state" / "nvim" / "lsp.log"
    return run_probe(
        "nvim plugin probe",
        [nvim, "--headless", "--clean", "-u", "NONE", "-S", str(PROBE)],
        work,
        env,
        pidfile,
        lambda: f"lsp.log:\n{log.read_text(errors='replace')[-6000:] if log.exists() else '(none)'}",
    )


def _cursor_bytes(run: dict[str, Any], text: str = "") -> int:
    return len((run["client"]["line"] + text).encode("utf-8"))


def _draws_item(shown: dict[str, Any]) -> None:
    """The extmark shows the text the suggestion inserts: exactly, or as Neovim shows such text in a buffer
    when it holds control characters (random tiny models emit some), which the probe gets from strtrans()."""
    drawn, text = shown["drawn"], shown["text"]
    assert drawn["text"] == drawn["expected"], shown
    if all(line.replace("\t", "").isprintable() and line.isascii() for line in text.split("\n")):
        assert drawn["text"] == text, shown


def test_setup_starts_the_server_for_python_buffers_with_the_settings(run: dict[str, Any]) -> None:
    client, report = run["client"], run["report"]
    assert client["filetype"] == "python", report
    assert client["offset_encoding"] == "utf-8", report
    assert client["inline_provider"] and client["completion_provider"], report
    assert client["omnifunc"] == "v:lua.vim.lsp.omnifunc", report
    version = tuple(int(part) for part in re.findall(r"\d+", client["nvim"])[:2])
    assert client["inline_backend"] == ("builtin" if version >= (0, 12) else "plugin"), report
    options = client["init_options"]
    assert options["models"]["policy"] and options["models"]["reward_model"], options
    assert options["completion"]["n"] == 4 and "token" not in options["models"], options
    for lhs in ("<Tab>", "<M-]>", "<M-[>", "<C-]>", "<M-Right>"):
        assert lhs in client["keymaps"], (lhs, client["keymaps"])


def test_settings_are_json_objects_even_when_empty(run: dict[str, Any]) -> None:
    """Neovim encodes an empty Lua table as [], which the server rejects as settings."""
    assert json.loads(run["settings"]["empty"]) == {}, run["settings"]
    assert json.loads(run["settings"]["policy_only"]) == {"models": {"policy": "p"}}, run["settings"]


def test_the_engine_token_travels_in_the_environment_not_the_command_line(run: dict[str, Any]) -> None:
    client = run["client"]
    assert not client["token_in_cmdline"], "the token is visible in the server's command line (ps)"
    assert not client["token_in_settings"], "the token is in the LSP settings (logged by clients)"
    assert client["token_in_environ"], "the server did not get CODESCALER_ENGINE_TOKEN"
    assert run["accept"]["token_setting"] == "***", "the server did not take the token (stats redact it)"


def test_typing_shows_the_automatic_suggestion_as_ghost_text_at_the_cursor(run: dict[str, Any]) -> None:
    auto, report = run["auto"], run["report"]
    item, drawn = auto["item"], auto["drawn"]
    assert auto["mode"] == "i" and not auto["invoked"], report
    assert auto["count"] == 1, "an automatic request shows the single best item"
    assert drawn["count"] == 1 and drawn["virt_text_pos"] == "inline", drawn
    assert drawn["hl_group"] == "CodescalerSuggestion", drawn
    assert item["insertText"] == auto["text"], (drawn, item)
    _draws_item(auto)
    column = _cursor_bytes(run)
    assert (drawn["row"], drawn["col"]) == (0, column), drawn
    assert auto["cursor"] == [1, column], auto
    assert item["range"]["start"] == {"line": 0, "character": column}, item
    assert item["command"]["command"] == "codescaler.accepted", item


def test_next_asks_for_the_ranked_list_and_cycles_through_it(run: dict[str, Any]) -> None:
    nxt, prev = run["cycle"]["next"], run["cycle"]["prev"]
    assert nxt["invoked"] and 1 <= nxt["count"] <= 3, nxt
    assert nxt["text"] == nxt["item"]["insertText"] and prev["text"] == prev["item"]["insertText"]
    _draws_item(nxt)
    if nxt["count"] > 1:
        assert nxt["index"] == 2 and nxt["drawn"]["hint"] == f" (2/{nxt['count']})", nxt
        assert prev["index"] == 1, prev
        _draws_item(prev)
        assert prev["drawn"]["hint"] == f" (1/{nxt['count']})", prev
    else:
        assert prev["index"] == 1, prev


def test_dismiss_clears_the_ghost_text_and_tab_keeps_its_meaning(run: dict[str, Any]) -> None:
    dismiss, line = run["dismiss"], run["client"]["line"]
    assert dismiss["after"]["drawn"]["count"] == 0 and not dismiss["after"]["current"], dismiss
    assert dismiss["after"]["line"] == line, dismiss
    tab = dismiss["line_after_tab"]
    assert tab.startswith(line) and tab != line and not tab[len(line) :].strip(), (
        f"<Tab> with nothing showing must indent as usual: {tab!r}"
    )
    assert dismiss["line_after_ctrl_u"] == line, dismiss


def test_accept_inserts_the_item_and_reports_it_to_the_server(run: dict[str, Any]) -> None:
    accept, report = run["accept"], run["report"]
    shown = accept["shown"]
    text = shown["item"]["insertText"]
    assert shown["invoked"] and shown["text"] == text, shown
    _draws_item(shown)
    assert accept["line"] == run["client"]["line"] + text, report
    assert accept["cursor"] == [1, _cursor_bytes(run, text)], accept
    assert accept["mode"] == "i" and accept["marks_after"] == 0, accept
    assert accept["accepted_after"] > accept["accepted_before"], (
        "codescaler.accepted did not reach the server"
    )
    assert accept["shown_after"] >= 3, "textDocument/didShowCompletion was not sent for shown items"
    items = answer_items(run["inline"], report)
    assert items and items[0]["insertText"] == text, items


def test_typing_the_start_of_a_suggestion_keeps_the_rest_without_a_request(run: dict[str, Any]) -> None:
    typed = run["typed"]
    before, after = typed["before"], typed["after"]
    assert after is not None, f"the suggestion vanished when its first character was typed: {typed}"
    assert after["text"] == before["text"][1:], typed
    _draws_item(after)
    assert typed["requests_after"] == typed["requests_before"], "typing through asked the server again"
    word = typed["word"]
    chunk = word["line"][len(word["line_before"]) :]
    assert word["line"].startswith(word["line_before"]) and chunk, word
    assert word["text_before"].startswith(chunk), word
    rest = word.get("rest")  # absent when nothing shows any more (a one-word suggestion was taken whole)
    if chunk != word["text_before"]:
        assert rest is not None and rest["text"] == word["text_before"][len(chunk) :], word
        assert re.fullmatch(r"\s*(\w+|[^\w\s]+|\s+)", chunk), f"accept_word took more than a word: {chunk!r}"


def test_completion_menu_offers_ranked_items_and_accepts_one(run: dict[str, Any]) -> None:
    completion, report = run["completion"], run["report"]
    menu = completion["menu"]
    assert menu, f"<C-x><C-o> showed no items\n{report}"
    for entry in menu:
        assert entry["lsp"]["detail"].startswith("codescaler #"), entry
    inserted = {completion["line_before"] + entry["lsp"]["textEdit"]["newText"] for entry in menu}
    assert completion["line_after"] in inserted, completion


def test_toggle_turns_suggestions_off_and_on(run: dict[str, Any]) -> None:
    toggle = run["toggle"]
    assert toggle["off_status"] == "codescaler: off", toggle
    assert toggle["off_items"] == 0 and toggle["off_marks"] == 0, toggle
    assert toggle["on_items"] > 0 and toggle["on_status"] != "codescaler: off", toggle


def test_restart_starts_a_new_server_that_answers(run: dict[str, Any]) -> None:
    restart = run["restart"]
    assert restart["old_stopped"] and restart["new_id"] != restart["old_id"], restart
    assert restart["shown"], restart


def test_status_is_notified_once_per_change(run: dict[str, Any]) -> None:
    statuses = run["status"]["statuses"]
    assert "ready" in statuses, statuses
    assert all(a != b for a, b in itertools.pairwise(statuses)), statuses
    messages = [note["message"] for note in run["status"]["notifications"]]
    assert sum(message.startswith("codescaler: ready") for message in messages) == statuses.count("ready")
    assert not [m for m in messages if "token" in m or "not found" in m], messages


def test_help_and_checkhealth(run: dict[str, Any]) -> None:
    docs = run["docs"]
    assert docs["helptags"] == "ok", docs["helptags"]
    assert set(docs["help"].values()) == {"codescaler.txt"}, docs["help"]
    assert "OK" in docs["health"] and "ERROR" not in docs["health"], docs["health"]


def test_no_server_outlives_neovim(run: dict[str, Any]) -> None:
    assert run["server_exited"], "a codescaler server was still running after Neovim quit; killed it"
