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

from engine.errors import CodescalerError
from tests.training.test_sandbox_hostile import LIMITS, assert_nothing_left, hostile
from training.sandbox import isolation, runner
from training.sandbox.calls import Call, Returned, run_calls
from training.sandbox.isolation import Isolation

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the fresh-uid fallback needs root")


@pytest.fixture
def bare(sandbox_uids) -> tuple[Isolation, set[int]]:
    """No namespaces, no bubblewrap, filter or cgroup, a fresh uid per run (root), the uids recorded; nothing
    of theirs may survive (`sandbox_uids` checks that afterwards)."""
    found = isolation._first_working(Isolation(new_uid=True))
    assert not isinstance(found, str), found
    return found[0], sandbox_uids


def call(code: str, bare_isolation: Isolation) -> Returned:
    return run_calls(code, [Call("solve", (1,), {})], [[0]], LIMITS, bare_isolation).returned[0]


@root_only
def test_escaped_daemon_is_killed_by_its_uid(bare):
    marker = f"codescaler-daemon-{secrets.token_hex(8)}"
    assert call(hostile("escaped_daemon", MARKER=marker), bare[0]).value == 2
    assert_nothing_left(bare[1], marker)


@root_only
def test_fork_bomb_is_contained_by_nproc_and_the_uid_sweep(bare):
    assert call(hostile("fork_bomb"), bare[0]).error.status == "timeout"


@root_only
def test_network_is_blocked_inside_python(bare):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        returned = call(hostile("socket_connect", PORT=str(listener.getsockname()[1])), bare[0])
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "network access is disabled in the sandbox" in returned.error.detail


@root_only
def test_kill_everything_reaches_only_the_sandbox(bare):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        returned = call(hostile("kill_parent"), bare[0])
        assert returned.value == 2 or returned.error.status in ("killed", "runtime_error")
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
    assert call(program, bare[0]).value == made[0]
    assert not Path(made[0]).exists()


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ({"bwrap"}, ["bubblewrap is not installed (apt install bubblewrap)"]),
        (
            {"bwrap", "unshare"},
            [
                "bubblewrap is not installed",
                "no unshare command",
                "network blocked only in Python",
                "no PID namespace",
                "no private filesystem",
            ],
        ),
    ],
)
def test_probe_without_a_tool_warns_once_naming_each_fallback(monkeypatch, caplog, missing, words):
    real_which = isolation.shutil.which
    monkeypatch.setattr(
        isolation.shutil, "which", lambda name, **kw: None if name in missing else real_which(name, **kw)
    )
    monkeypatch.setattr(isolation, "_current", None)
    with caplog.at_level(logging.WARNING, logger="training.sandbox.isolation"):
        first = isolation.current()
        assert isolation.current() is first
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert first.bwrap is None
    if "unshare" in missing:
        assert first.unshare == () and not (first.net_ns or first.pid_ns or first.private_fs)
    for text in words:
        assert text in warnings[0]


def test_probe_without_a_filter_or_a_cgroup_says_so(monkeypatch, caplog):
    def no_filter():
        raise CodescalerError("no system-call filter (no libseccomp.so.2)")

    monkeypatch.setattr(isolation.syscall_filter, "program", no_filter)
    monkeypatch.setattr(isolation.cgroup, "find", lambda: "not root")
    monkeypatch.setattr(isolation, "_current", None)
    with caplog.at_level(logging.WARNING, logger="training.sandbox.isolation"):
        here = isolation.current()
    assert here.syscall_filter is None and here.cgroups is None
    assert "no system-call filter (no libseccomp.so.2)" in caplog.text
    assert "no memory cgroup (not root): memory is limited per process" in caplog.text


def test_without_namespaces_or_uid_the_launcher_reaps_escaped_daemons():
    """The weakest setup (a normal user without user namespaces): the launcher, as subreaper, inherits the
    daemon and kills it. As root this runs the (benign) fixture as root."""
    marker = f"codescaler-daemon-{secrets.token_hex(8)}"
    assert call(hostile("escaped_daemon", MARKER=marker), Isolation()).value == 2
    assert_nothing_left(set(), marker)
