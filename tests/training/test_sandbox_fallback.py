"""The fallbacks: what the sandbox does where the kernel grants no namespaces, and the one warning.

Forced here with an `Isolation` without namespaces. The root fallback (a fresh uid per run) is tested only
as root: without root, a sandbox with no namespaces runs programs as the test's own user.
"""

import logging
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.test_sandbox_hostile import LIMITS, assert_nothing_left, hostile
from training.sandbox import isolation, runner
from training.sandbox.isolation import Isolation

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the fresh-uid fallback needs root")


@pytest.fixture
def bare(sandbox_uids) -> tuple[Isolation, set[int]]:
    """No namespaces, a fresh uid per run (root), the uids recorded; nothing of theirs may survive
    (`sandbox_uids` checks that afterwards)."""
    here = isolation.current()
    return Isolation(new_uid=True, python=here.python, site_dirs=here.site_dirs), sandbox_uids


def call(code: str, bare_isolation: Isolation) -> runner.Run:
    job = {"mode": "call", "code": code, "fn_name": "solve", "inputs": [[1]], "timeout_s": 1.0}
    return runner.run_job(job, LIMITS, 2.0, bare_isolation)


@root_only
def test_escaped_daemon_is_killed_by_its_uid(bare):
    marker = f"codescaler-daemon-{secrets.token_hex(8)}"
    run = call(hostile("escaped_daemon", MARKER=marker), bare[0])
    assert run.event("test")["value"] == 2
    assert_nothing_left(bare[1], marker)


@root_only
def test_fork_bomb_is_contained_by_nproc_and_the_uid_sweep(bare):
    run = call(hostile("fork_bomb"), bare[0])
    assert run.event("test")["status"] == "timeout"


@root_only
def test_network_is_blocked_inside_python(bare):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        run = call(hostile("socket_connect", PORT=str(listener.getsockname()[1])), bare[0])
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "network access is disabled in the sandbox" in run.event("test")["detail"]


@root_only
def test_kill_everything_reaches_only_the_sandbox(bare):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = call(hostile("kill_parent"), bare[0])
        assert run.signal == 9 or run.event("test") is not None
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@root_only
def test_host_workdir_is_private_and_removed(bare, monkeypatch):
    made = []
    host_workdir = runner._host_workdir
    monkeypatch.setattr(runner, "_host_workdir", lambda uid: made.append(host_workdir(uid)) or made[-1])
    program = (
        "import os\n"
        "def solve(x):\n"
        "    os.makedirs('locked/deeper')\n"
        "    open('locked/deeper/file', 'w').write('x')\n"
        "    os.chmod('locked', 0)\n"
        "    return os.getcwd()\n"
    )
    run = call(program, bare[0])
    assert run.event("test")["value"] == made[0]
    assert not Path(made[0]).exists()


def test_probe_without_unshare_warns_once_naming_each_fallback(monkeypatch, caplog):
    real_which = isolation.shutil.which
    monkeypatch.setattr(
        isolation.shutil, "which", lambda name, **kw: None if name == "unshare" else real_which(name, **kw)
    )
    monkeypatch.setattr(isolation, "_current", None)
    with caplog.at_level(logging.WARNING, logger="training.sandbox.isolation"):
        first = isolation.current()
        assert isolation.current() is first
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert first.unshare == () and not (first.net_ns or first.pid_ns or first.private_fs)
    for words in (
        "no unshare command",
        "network blocked only in Python",
        "no PID namespace",
        "no private filesystem",
    ):
        assert words in warnings[0]


def test_without_namespaces_or_uid_the_launcher_reaps_escaped_daemons():
    """The weakest setup (a normal user without user namespaces): the launcher, as subreaper, inherits the
    daemon and kills it. As root this runs the (benign) fixture as root."""
    marker = f"codescaler-daemon-{secrets.token_hex(8)}"
    run = call(hostile("escaped_daemon", MARKER=marker), Isolation())
    assert run.event("test")["value"] == 2
    assert_nothing_left(set(), marker)
