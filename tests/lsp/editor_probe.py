"""Running a real editor's probe script against `codescaler lsp`: an isolated home, the probe's settings
in the environment, a hard timeout, no server left behind, and the probe's JSON event lines back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT_S = 180


def editor_env(home: Path) -> dict[str, str]:
    """Keep the editor's files (state, logs, caches) out of the user's home, and the user's codescaler
    config file out of the server (it inherits this env); UTF-8 for stdout and files."""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    env.pop("CODESCALER_CONFIG", None)
    return env


def probe_vars(
    codescaler_cli: str, tiny_models: dict[str, Path], work: Path, pidfile: Path
) -> dict[str, str]:
    """What the probe scripts read: the server command, the models, the file to open, where to note the
    server's pid."""
    return {
        "CODESCALER_PROBE_CMD": json.dumps([codescaler_cli, "lsp"]),
        "CODESCALER_PROBE_POLICY": str(tiny_models["policy"]),
        "CODESCALER_PROBE_REWARD": str(tiny_models["reward"]),
        "CODESCALER_PROBE_FILE": str(work / "demo.py"),
        "CODESCALER_PROBE_PIDFILE": str(pidfile),
    }


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop_leftover_server(pidfile: Path, grace_s: float = 10) -> bool:
    """Kill the server if it outlived the editor; True when it had exited by itself."""
    pids = [int(word) for word in pidfile.read_text().split()] if pidfile.exists() else []
    deadline = time.monotonic() + grace_s
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = []
    for pid in pids:
        try:
            if _alive(pid) and b"codescaler" in Path(f"/proc/{pid}/cmdline").read_bytes():
                left.append(pid)
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return not left


def run_probe(
    name: str,
    command: list[str],
    work: Path,
    env: dict[str, str],
    pidfile: Path,
    extra_log: Callable[[], str] = lambda: "",
) -> dict[str, Any]:
    """Run the probe; its events by name, plus `server_exited` and a `report` for assertion messages.
    Fails (with the report) on a timeout, a non-zero exit, or a missing client/completion/inline event."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    finally:
        server_exited = stop_leftover_server(pidfile)
    report = (
        f"{name} exited {process.returncode} after {time.monotonic() - started:.1f} s"
        f"{' (timed out)' if timed_out else ''}\nstdout:\n{stdout.decode(errors='replace')[-6000:]}\n"
        f"stderr:\n{stderr.decode(errors='replace')[-4000:]}\n{extra_log()}"
    )
    assert not timed_out and process.returncode == 0, report
    events = {}
    for line in stdout.decode().split("\n"):  # not splitlines(): U+2028 inside a JSON string is no line end
        if line.startswith("{"):
            event = json.loads(line)
            events[event["event"]] = event
    assert {"client", "completion", "inline"} <= events.keys(), report
    return {**events, "server_exited": server_exited, "report": report}


def answer_items(answer: dict[str, Any], report: str) -> list[dict[str, Any]]:
    """The items of a completion or inline completion answer (a list or an object with `items`)."""
    assert answer.get("error") is None, report
    result = answer.get("result")
    return result.get("items", []) if isinstance(result, dict) else list(result or [])
