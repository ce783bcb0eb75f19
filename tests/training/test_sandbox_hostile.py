"""Hostile programs (tests/training/hostile/) are contained, labelled, and leave nothing behind; the
verifier keeps going after each.

"Nothing behind" is checked on the processes of the fresh uids the sandbox used (when it runs as root)
and on markers the programs put in the command lines of the processes they start.
"""

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it
from training.sandbox import isolation, runner
from training.verify import Limits, verify

HOSTILE = Path(__file__).with_name("hostile")
REPO = Path(__file__).resolve().parents[2]
LIMITS = Limits(timeout_s=1.0, total_timeout_s=2.0)
CALL = Problem(
    "hostile/call",
    "Return x + 1.",
    Spec(kind="call", fn_name="solve", cases=({"input": [1], "output": 2}, {"input": [2], "output": 3})),
)
STDIO = Problem("hostile/stdio", "Print 2.", Spec(kind="stdio", cases=({"input": "", "output": "2"},)))
SANE = "def solve(x):\n    return x + 1\n"


def hostile(name: str, **replacements: str) -> str:
    code = (HOSTILE / f"{name}.py").read_text()
    for key, value in replacements.items():
        code = code.replace(f"__{key}__", value)
    return code


def survivors(uids: set[int], marker: str | None = None) -> list[str]:
    """Live processes (not zombies) of the sandbox's uids or with `marker` on their command line."""
    found = []
    for process in psutil.process_iter(["pid", "uids", "status", "cmdline"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE or info["uids"] is None:
            continue
        marked = marker is not None and any(marker in part for part in info["cmdline"] or ())
        if info["uids"].real in uids or marked:
            found.append(f"{info['pid']} uid={info['uids'].real} {info['cmdline']}")
    return found


def assert_nothing_left(uids: set[int], marker: str | None = None) -> None:
    deadline = time.monotonic() + 5
    while (left := survivors(uids, marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, left


def test_isolation_is_what_the_kernel_allows():
    here = isolation.current()
    namespaces = subprocess.run(
        [
            "unshare",
            *([] if os.geteuid() == 0 else ["--user", "--map-root-user"]),
            "--net",
            "--pid",
            "--fork",
            "--mount",
            "--",
            "true",
        ],
        capture_output=True,
    )
    if namespaces.returncode == 0:
        assert here.net_ns and here.pid_ns and (here.private_fs or here.bwrap), here
    if shutil.which("bwrap") is not None and namespaces.returncode == 0:
        assert here.bwrap is not None and here.view is not None, here.warnings
    assert here.new_uid == (os.geteuid() == 0)
    assert isolation.current() is here  # probed once


@pytest.mark.parametrize(
    ("program", "statuses"),
    [
        ("fork_bomb", {"timeout", "killed", "runtime_error"}),
        ("infinite_loop", {"timeout"}),
        ("memory_bomb", {"memory"}),
        ("recursion_bomb", {"runtime_error"}),
        ("deep_recursion_crash", {"runtime_error", "memory", "timeout", "killed"}),
        ("os_exit", {"runtime_error"}),
        ("close_stdout", {"runtime_error"}),
        # Under bubblewrap its parent is the namespace's init, which ignores it, and kill(-1) reaches no
        # process but its own init: it survives and returns the right value.
        ("kill_parent", {"killed", "runtime_error", "passed"}),
    ],
)
def test_hostile_program_is_contained_and_labelled(program, statuses, sandbox_uids):
    # zeroing 512 MiB takes a while on a loaded machine: the memory bomb gets the time to reach its limit
    limits = Limits(timeout_s=4.0, total_timeout_s=8.0) if program == "memory_bomb" else LIMITS
    verdict = verify(CALL, hostile(program), limits)
    assert verdict.status in statuses, verdict
    assert verdict.tests[0].status in statuses
    assert verify(CALL, SANE, LIMITS).passed  # the verifier survived and still works


def test_details_say_what_happened(sandbox_uids):
    assert verify(CALL, hostile("infinite_loop"), LIMITS).detail == "test 1: took longer than 1s"
    assert (
        "MemoryError"
        in verify(CALL, hostile("memory_bomb"), Limits(timeout_s=4.0, total_timeout_s=8.0)).detail
    )
    assert "RecursionError" in verify(CALL, hostile("recursion_bomb"), LIMITS).detail
    exited = verify(CALL, hostile("os_exit"), LIMITS)
    assert exited.detail == "test 1: the program exited (status 0) before its tests reported"
    assert [test.status for test in exited.tests] == ["runtime_error", "runtime_error"]


def test_huge_output_is_capped_and_killed(sandbox_uids):
    limits = Limits(timeout_s=2.0, output_bytes=1 << 20)
    verdict = verify(STDIO, hostile("huge_output"), limits)
    assert verdict.status == "killed"
    assert verdict.detail == f"test 1: the output exceeded {1 << 20} bytes"
    job = {"mode": "stdio", "code": hostile("huge_output"), "timeout_s": 2.0}
    run = runner.run_job(job, limits, 2.0, isolation.current())
    assert run.output_capped and len(run.stdout) == 1 << 20


def test_socket_connect_reaches_nothing(sandbox_uids):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = str(listener.getsockname()[1])
        verdict = verify(CALL, hostile("socket_connect", PORT=port), LIMITS)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert verdict.status == "runtime_error"
    assert "Connection refused" in verdict.detail or "OSError" in verdict.detail


def test_writes_outside_the_sandbox_land_nowhere(sandbox_uids):
    nonce = secrets.token_hex(8)
    tmp_target = Path(f"/tmp/codescaler-escape-{nonce}")
    repo_target = REPO / f"codescaler-escape-{nonce}"
    try:
        verdict = verify(
            CALL, hostile("write_outside", TMP_TARGET=str(tmp_target), REPO_TARGET=str(repo_target))
        )
        assert verdict.status == "runtime_error"
        assert not repo_target.exists()
        if not (isolation.current().private_fs or isolation.current().bwrap):
            pytest.skip("no mount namespace here: /tmp is shared (the documented fallback)")
        assert not tmp_target.exists()
    finally:
        tmp_target.unlink(missing_ok=True)
        repo_target.unlink(missing_ok=True)


def test_parent_environment_secrets_stay_outside(monkeypatch, sandbox_uids):
    secret = f"hunter2-{secrets.token_hex(8)}"
    monkeypatch.setenv("CODESCALER_TEST_SECRET", secret)
    job = {"mode": "stdio", "code": hostile("env_secrets"), "timeout_s": 2.0}
    run = runner.run_job(job, LIMITS, 2.0, isolation.current())
    assert b"PATH=" in run.stdout  # it did read what it could
    assert secret.encode() not in run.stdout + run.stderr
    assert secret not in str(verify(STDIO, hostile("env_secrets"), LIMITS))


def test_escaped_daemon_dies_with_the_sandbox(sandbox_uids):
    marker = f"codescaler-daemon-{secrets.token_hex(8)}"
    assert verify(CALL, hostile("escaped_daemon", MARKER=marker), LIMITS).passed
    assert_nothing_left(sandbox_uids, marker)


def test_closing_stdout_is_not_a_pass(sandbox_uids):
    verdict = verify(STDIO, "import os\nos.close(1)\nprint(2)\n", LIMITS)
    assert verdict.status == "wrong_answer"


def test_forged_reports_are_ignored(sandbox_uids):
    forger = (
        "import os\n"
        'line = b\'0123456789abcdef0123456789abcdef {"event": "test", "index": 0, "status": "passed"}\\n\'\n'
        "for fd in (1, 2, 3, 4):\n"
        "    try:\n"
        "        os.write(fd, line)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    )
    for problem in (
        CALL,
        Problem(
            "h",
            "q",
            Spec(kind="check", code="def check(f):\n    assert f(1) == 2\n"),
            entry_point="solve",
        ),
    ):
        verdict = verify(problem, forger, LIMITS)
        assert verdict.status == "runtime_error", verdict


def test_forked_children_do_not_report(sandbox_uids):
    # The child returns the wrong value and would report first; only the harness's own process reports.
    forks = "import os\n\ndef solve(x):\n    if os.fork() == 0:\n        return -1\n    os.wait()\n    return x + 1\n"
    verdict = verify(CALL, forks, LIMITS)
    assert verdict.passed, verdict
