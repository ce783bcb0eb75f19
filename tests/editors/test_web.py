"""The browser editor (extensions/web): the built Monaco page in headless Chromium against a real
`codescaler lsp --ws` with the tiny models.

The page is served by a static server on another loopback address than the language server's
(127.0.0.2 where the machine has it), so its origin is admitted only through `--allow-origin`. The Node
driver (extensions/web/e2e/run.mjs, playwright-core) types at the end of a comment line and reports what
the browser showed; the models are random, so the checks are about mechanics, not text: ghost text
appears, Tab inserts exactly the suggested item at UTF-16 positions and runs `codescaler.accepted`, typing
during a request cancels it, and the suggest widget lists codescaler's ranked items and inserts one.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import free_port, stop_process_group
from tests.lsp.conftest import CODESCALER, SERVER_ENV, editor_settings, units

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "extensions" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Like tests/lsp COMMENT_DOC (the end of a comment line, where even random tiny models give valid
# completions), in characters the machine's fonts draw for the screenshot. The emoji is two UTF-16 units
# and "ö", "π", "≈" are one each but several UTF-8 bytes: positions must arrive as Monaco's UTF-16.
DOC = "# Größe π ≈ 3.14 😀 note: \nx = 1\n"
TYPED = "see"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "headless Chromium is not installed (bash .ci/install.d/browser.sh)"
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (WEB / "node_modules" / "playwright-core").is_dir() or not (WEB / "dist" / "index.html").is_file():
        return "extensions/web is not installed and built (bash .ci/install.d/web.sh)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


def page_host() -> str:
    """127.0.0.2 (an origin the server refuses without --allow-origin) where the machine can bind it."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.2", 0))
        except OSError:
            return "127.0.0.1"
    return "127.0.0.2"


def spawn(command: list[str], log: Path, **kwargs) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )


def wait_until(ready, process: subprocess.Popen, log: Path, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not start in {timeout_s} s:\n{log.read_text()[-3000:]}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def edited(text: str, edit_range: dict, new_text: str) -> str:
    """`text` after replacing a one-line LSP range given in UTF-16 units."""
    start, end = edit_range["start"], edit_range["end"]
    assert start["line"] == end["line"], edit_range
    lines = text.split("\n")
    line = lines[start["line"]].encode("utf-16-le")
    lines[start["line"]] = (
        line[: 2 * start["character"]] + new_text.encode("utf-16-le") + line[2 * end["character"] :]
    ).decode("utf-16-le")
    return "\n".join(lines)


def alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


@pytest.fixture
def servers(tiny_models, tmp_path):
    """The language server and a static server for extensions/web/dist, on free loopback ports."""
    host = page_host()
    page_port, lsp_port = free_port(), free_port()
    origin = f"http://{host}:{page_port}"
    lsp_log, page_log = tmp_path / "lsp.log", tmp_path / "static.log"
    lsp = spawn([CODESCALER, "lsp", "--ws", "--port", str(lsp_port), "--allow-origin", origin], lsp_log,
                env=SERVER_ENV)  # fmt: skip
    static = spawn([sys.executable, "-m", "http.server", "--bind", host, "--directory", str(WEB / "dist"),
                    str(page_port)], page_log)  # fmt: skip
    try:
        wait_until(lambda: "listening on" in lsp_log.read_text(), lsp, lsp_log, "codescaler lsp --ws", 60)
        wait_until(lambda: http_ok(f"{origin}/index.html"), static, page_log, "the static server")
        yield origin, f"ws://127.0.0.1:{lsp_port}", lsp_log
    finally:
        stop_process_group(static)
        stop_process_group(lsp)


def run_driver(page: str, tmp_path: Path) -> tuple[dict, str]:
    command = ["node", "e2e/run.mjs", "--page", page, "--screenshot", str(tmp_path / "web-ghost-text.png"),
               "--suggest-screenshot", str(tmp_path / "web-suggest.png"), "--doc-json", json.dumps(DOC),
               "--typed", TYPED, "--timeout-ms", "45000", "--chromium", CHROMIUM]  # fmt: skip
    driver = subprocess.Popen(command, cwd=WEB, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = driver.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        stop_process_group(driver)
        stdout, stderr = driver.communicate()
    finally:
        stop_process_group(driver)
    lines = stdout.strip().splitlines()
    assert lines, f"the driver printed nothing (exit {driver.returncode}):\n{stderr[-3000:]}"
    return json.loads(lines[-1]), stderr


def test_monaco_page_shows_accepts_and_lists_codescaler_completions(servers, tiny_models, tmp_path):
    origin, server, lsp_log = servers
    settings = editor_settings(tiny_models)  # the models travel as the page's initializationOptions
    page = f"{origin}/?{urlencode({'server': server, 'settings': json.dumps(settings)})}"
    started = time.monotonic()
    result, stderr = run_driver(page, tmp_path)
    print(f"driver: {time.monotonic() - started:.1f} s, steps {result.get('steps')}")
    if result.get("screenshot"):
        print(f"screenshot of the ghost text: {result['screenshot']}")
    (tmp_path / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    console_errors = [line for line in result["console"] if line.startswith("error")]
    context = (
        f"error: {result.get('error')}\npage errors: {result['pageErrors']}\nconsole errors: {console_errors}\n"
        f"all the driver saw: {tmp_path / 'result.json'}\ndriver stderr:\n{stderr[-2000:]}\n"
        f"server log:\n{lsp_log.read_text()[-3000:]}"
    )
    assert result["ok"], context
    assert not result["pageErrors"], context
    assert not console_errors, context
    assert result["statusLine"].startswith("ready"), context

    # Ghost text: Monaco rendered it, and its text is what the server suggested at the UTF-16 cursor.
    first_line = DOC.split("\n")[0] + TYPED
    cursor = {"line": 0, "character": units(first_line, "utf-16")}
    assert result["ghost"]["count"] >= 1 and result["ghost"]["text"], context
    inline = [item for event in result["accept"]["inline"] for item in event["items"]]
    assert inline and all(item["range"]["start"] == cursor for item in inline), context
    ghost = alnum(result["ghost"]["text"])  # Monaco draws control characters as symbols: compare the rest
    assert any(ghost in alnum(item["insertText"]) for item in inline), context

    # Tab inserted exactly the accepted item, and the page ran its codescaler.accepted command.
    (command,) = result["accept"]["commands"]
    assert command["command"] == "codescaler.accepted", context
    (accepted,) = [item for item in inline if item["command"]["arguments"] == command["arguments"]]
    before, after = result["accept"]["before"], result["accept"]["after"]
    assert before.split("\n")[0] == first_line, context
    assert after == edited(before, accepted["range"], accepted["insertText"]), context
    assert result["accept"]["cancels"] >= 1, "typing during a request must send $/cancelRequest"

    # Ctrl+Space: the suggest widget lists codescaler's ranked items; Enter inserts the first one.
    assert result["suggest"]["completions"], context
    items = sorted(result["suggest"]["completions"][-1]["items"], key=lambda item: item["sortText"])
    rows = result["suggest"]["rows"]
    assert items and [row["label"] for row in rows] == [item["label"] for item in items], context
    assert all(row["detail"].startswith("codescaler #") for row in rows), context
    edit = items[0]["textEdit"]
    assert result["suggestAccept"]["after"] == edited(result["suggestAccept"]["before"], edit["range"],
                                                      edit["newText"]), context  # fmt: skip

    stats = result["stats"]
    assert stats["position_encoding"] == "utf-16" and stats["failed"] == 0, stats
    assert stats["accepted"] >= 2 and stats["shown"] >= 1, stats  # Tab and Enter; didShowCompletion
