"""One sandbox run: start the launcher in its namespaces, feed the job and stdin, collect what comes back
within the wall-clock budget and the output cap, and leave nothing behind.

The verifier's side of the pipes is read incrementally with a selector: a program printing gigabytes costs
at most `Limits.output_bytes` of memory before the run is killed. Whatever happens, the run ends with the
whole process group killed, leftover processes of the sandbox's user killed when there is no PID namespace
to do it, and the host working directory (only used without a mount namespace) deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from engine.errors import CodescalerError
from training.sandbox import launcher
from training.sandbox.limits import STARTUP_S, Limits

if TYPE_CHECKING:
    from training.sandbox.isolation import Isolation

HARNESS = Path(__file__).with_name("harness.py")
LAUNCHER = Path(launcher.__file__)
STDERR_KEPT = 64 * 1024
MIB = 1024 * 1024
WORKDIR = "/tmp/work"  # the program's working directory inside a private /tmp
_BWRAP_NAMESPACES = (
    "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
    "--disable-userns", "--die-with-parent", "--new-session",
)  # fmt: skip
REPORT_CAP_TESTS = 16  # call tests may report `output_bytes` of values per test, up to this many tests' worth
_EXIT_GRACE_S = 0.3  # after the launcher exits, how long pipes still held by stray processes may stay open
# Fresh uids for sandboxes started as root: far above real accounts and the ranges used for subordinate ids.
UID_BASE, UID_SPAN = 2_000_000_000, 1 << 24
_CANDIDATE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "OPENBLAS_NUM_THREADS": "1",  # numpy's thread pools would eat RLIMIT_NPROC and RLIMIT_AS
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass
class Run:
    """What came back from one sandbox run. `events` are the harness's authenticated reports."""

    events: list[dict[str, Any]] = field(default_factory=list)
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int | None = None  # the harness's exit status; None when a signal ended it
    signal: int | None = None
    timed_out: bool = False  # killed at the wall-clock deadline
    output_capped: bool = False  # killed for printing more than Limits.output_bytes
    out_of_memory: bool = False  # the kernel killed a process for going over the run's memory cgroup limit
    memory_peak_bytes: int = 0  # the most the run's processes held together (memory cgroup; 0 without one)
    duration_s: float = 0.0

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == name), None)

    def syntax_error(self) -> str | None:
        """The harness's syntax error, reported before any program code runs (so before "compiled"): one
        the program reports later is a forgery."""
        for event in self.events:
            if event.get("event") == "compiled":
                return None
            if event.get("event") == "syntax_error":
                return str(event.get("detail", ""))
        return None


def fresh_uid() -> int:
    """An unused uid for one run: RLIMIT_NPROC then counts this sandbox's processes only, and its
    processes can signal nothing outside it (tests replace this to watch the uids they get)."""
    return UID_BASE + secrets.randbelow(UID_SPAN)


def run_job(
    job: dict[str, Any],
    limits: Limits,
    budget_s: float,
    isolation: Isolation,
    stdin: bytes = b"",
    tests: int = 1,
) -> Run:
    """Run the harness on `job` (mode, code and the mode's fields) in a fresh sandbox. stdout and stderr
    together may hold `limits.output_bytes`, the reports as much per test (call tests return data), up to
    REPORT_CAP_TESTS tests' worth. Raises CodescalerError when the sandbox itself cannot start."""
    nonce = secrets.token_hex(16)
    payload = pickle.dumps(
        {
            **job,
            "nonce": nonce,
            "block_network": not isolation.net_ns,
            "site_dirs": isolation.site_dirs,
            "seccomp": isolation.syscall_filter,
        }
    )
    uid = fresh_uid() if isolation.new_uid else None
    workdir = None if isolation.private_fs or isolation.bwrap else _host_workdir(uid)
    wall_s = budget_s + STARTUP_S
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    go_r, go_w = os.pipe()
    # Our ends as unbuffered files: closing one twice is then harmless (a second os.close of a bare fd
    # number could close a file another thread has just opened).
    job_file, result_file = open(job_w, "wb", buffering=0), open(result_r, "rb", buffering=0)  # noqa: SIM115
    config = {
        "python": isolation.python,
        "harness": str(HARNESS),
        "job_fd": job_r,
        "result_fd": result_w,
        "uid": uid,
        "workdir": workdir,
        "private_fs": isolation.private_fs,
        "pid_ns": isolation.pid_ns,
        "reap_orphans": not isolation.pid_ns and uid is None,
        "go_fd": go_r,
        "bwrap": _bwrap(isolation, limits),
        "tmp_mb": int(limits.file_mb),
        # visible even when a checkout or venv lives under /tmp: the harness, the interpreter's prefix
        "keep": [str(HARNESS), str(Path(isolation.python).parent.parent), *isolation.site_dirs],
        "rlimits": _rlimits(limits, wall_s),
        "env": _CANDIDATE_ENV,
        "deadline_s": wall_s + 2,
    }
    command = [*isolation.command(), sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(config)]
    process = group = None
    try:
        try:
            group = isolation.cgroups.create(limits.memory_mb * MIB) if isolation.cgroups else None
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(job_r, result_w, go_r),
                env={"PATH": _CANDIDATE_ENV["PATH"], "LANG": "C.UTF-8"},
                cwd="/",
                start_new_session=True,
            )
        finally:
            for fd in (job_r, result_w, go_r):
                os.close(fd)
        if group is not None:
            try:
                group.admit(process.pid)
            except OSError as exc:
                raise CodescalerError(f"the sandbox could not start: its memory cgroup: {exc}") from exc
        os.write(go_w, b"1")
        os.close(go_w)
        go_w = -1
        writes: dict[BinaryIO, bytes] = {job_file: payload}
        if process.stdin is not None:
            writes[process.stdin] = stdin
        caps = {"output": limits.output_bytes, "result": limits.output_bytes * min(tests, REPORT_CAP_TESTS)}
        run = _collect(process, writes, result_file, nonce, caps, wall_s)
        if not (run.timed_out or run.output_capped):
            try:  # the pipes closed; let the launcher finish so its exit status is its own
                process.wait(timeout=max(0.1, wall_s - run.duration_s))
            except subprocess.TimeoutExpired:
                run.timed_out = True
    finally:
        if go_w >= 0:
            os.close(go_w)
        job_file.close()
        result_file.close()
        if process is not None:
            _kill_group(process)
        if uid is not None and not isolation.pid_ns:
            _kill_user(uid, isolation.python)
        if workdir is not None:
            shutil.rmtree(workdir, onerror=_force_remove)
        out_of_memory = group is not None and group.out_of_memory()
        peak = group.peak_bytes() if group is not None else 0
        if group is not None:
            group.remove()
    run.out_of_memory, run.memory_peak_bytes = out_of_memory, peak
    _exit_status(run, process.returncode)
    return run


def _bwrap(isolation: Isolation, limits: Limits) -> dict[str, Any] | None:
    """bubblewrap's command line for the launcher: the options before and after the bind mounts, and the
    binds themselves (which the launcher stages first when it runs as root: see launcher._stage)."""
    if isolation.bwrap is None or isolation.view is None:
        return None
    tmp = str(int(limits.file_mb) * MIB)
    environment = {**_CANDIDATE_ENV, "HOME": WORKDIR, "TMPDIR": WORKDIR}
    head = [isolation.bwrap, *_BWRAP_NAMESPACES]
    for target, link in isolation.view.links:
        head += ["--symlink", target, link]
    tail = []
    for path in isolation.view.hidden:
        tail += ["--tmpfs", path, "--remount-ro", path]
    tail += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        tmp,
        "--tmpfs",
        "/tmp",
        "--size",
        tmp,
        "--tmpfs",
        "/dev/shm",
    ]
    tail += ["--dir", WORKDIR, "--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    for name, value in environment.items():
        tail += ["--setenv", name, value]
    return {
        "head": head,
        "binds": [list(bind) for bind in isolation.view.binds],
        "tail": [*tail, "--"],
        "stage": isolation.new_uid,
    }


def _rlimits(limits: Limits, wall_s: float) -> dict[str, tuple[int, int]]:
    cpu = limits.cpu_seconds(wall_s)
    memory = int(limits.memory_mb * MIB)
    files = int(limits.file_mb * MIB)
    return {
        "RLIMIT_CPU": (cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL at the hard one
        "RLIMIT_AS": (memory, memory),
        "RLIMIT_FSIZE": (files, files),
        "RLIMIT_NPROC": (int(limits.processes), int(limits.processes)),
        "RLIMIT_NOFILE": (int(limits.open_files), int(limits.open_files)),
        "RLIMIT_CORE": (0, 0),
    }


def _collect(
    process: subprocess.Popen,
    writes: dict[BinaryIO, bytes],
    result: BinaryIO,
    nonce: str,
    caps: dict[str, int],
    wall_s: float,
) -> Run:
    """Pump the pipes until the sandbox is gone, the deadline passes or the output cap is exceeded."""
    assert process.stdout is not None and process.stderr is not None
    start = time.monotonic()
    deadline = start + wall_s
    names = {process.stdout: "stdout", process.stderr: "stderr", result: "result"}
    data = {name: bytearray() for name in names.values()}
    pending = {pipe: memoryview(chunk) for pipe, chunk in writes.items()}
    sizes = dict.fromkeys(caps, 0)
    run = Run()
    with selectors.DefaultSelector() as selector:
        for pipe in names:
            selector.register(pipe, selectors.EVENT_READ)
        for pipe in pending:
            os.set_blocking(pipe.fileno(), False)
            selector.register(pipe, selectors.EVENT_WRITE)
        exited_at = None
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                run.timed_out = True
                break
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > _EXIT_GRACE_S:
                break
            for key, _ in selector.select(timeout=min(0.1, deadline - now)):
                pipe = key.fileobj
                if pipe in pending:
                    if not _write_some(pipe, pending):
                        selector.unregister(pipe)
                        pipe.close()  # end of input: the harness reads its job to EOF
                    continue
                chunk = os.read(pipe.fileno(), 1 << 16)
                if not chunk:
                    selector.unregister(pipe)
                    continue
                sizes["result" if names[pipe] == "result" else "output"] += len(chunk)
                if names[pipe] != "stderr" or len(data["stderr"]) < STDERR_KEPT:
                    data[names[pipe]] += chunk
            if any(sizes[name] > caps[name] for name in caps):
                run.output_capped = True
                break
    run.duration_s = time.monotonic() - start
    run.stdout, run.stderr = bytes(data["stdout"][: caps["output"]]), bytes(data["stderr"][:STDERR_KEPT])
    run.events = _events(bytes(data["result"]), nonce)
    return run


def _write_some(pipe: Any, pending: dict[Any, memoryview]) -> bool:
    """Write what the pipe takes; False when this input is finished (or the reader went away)."""
    try:
        written = os.write(pipe.fileno(), pending[pipe][: 1 << 16])
    except BlockingIOError:
        return True
    except OSError:  # BrokenPipeError: the program stopped reading its input, which is its business
        written = len(pending[pipe])
    pending[pipe] = pending[pipe][written:]
    if len(pending[pipe]):
        return True
    del pending[pipe]
    return False


def _events(data: bytes, nonce: str) -> list[dict[str, Any]]:
    prefix = nonce.encode() + b" "
    events = []
    for line in data.split(b"\n"):
        if line.startswith(prefix):
            try:
                event = json.loads(line[len(prefix) :])
            except (ValueError, RecursionError):  # a forged line: too deep, or not JSON at all
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def _exit_status(run: Run, returncode: int | None) -> None:
    """Fill in how the run ended. The harness reports "started" before any candidate code runs, so a run
    without it failed in unshare or the launcher: the machine's problem, not the candidate's."""
    if run.event("started") is None and not (run.timed_out or run.output_capped or run.out_of_memory):
        reason = run.stderr.decode(errors="replace").strip().splitlines()
        raise CodescalerError(f"the sandbox could not start: {reason[-1] if reason else 'no reason given'}")
    if returncode is None:
        return
    if returncode < 0:  # unshare or the launcher itself was killed (by the deadline, the cap or the program)
        run.signal = -returncode
    elif returncode > 128:
        run.signal = returncode - 128
    else:
        run.exit_code = returncode


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the run's process group (unshare, the launcher, the harness and what stayed in the group);
    with a PID namespace, the launcher's death takes every other process of the sandbox with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


_KILL_ALL = "import os\ntry:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass"


def _kill_user(uid: int, python: str) -> None:
    """Without a PID namespace, processes that left the group (setsid, double fork) are found by their
    user: kill(-1) as the sandbox's fresh uid reaches exactly them. Repeated while any is alive, as a
    process forking at that moment can miss the first round."""
    for _ in range(100):
        if not _alive(uid):
            return
        subprocess.run(
            [python, "-I", "-S", "-c", _KILL_ALL],
            user=uid,
            group=uid,
            extra_groups=[],
            env={},
            cwd="/",
            check=False,
            timeout=30,
        )
    raise CodescalerError(f"processes of sandbox user {uid} survived 100 rounds of SIGKILL")


def _alive(uid: int) -> bool:
    """Whether a process of `uid` is still running (zombies are dead: they only wait to be reaped)."""
    return any(entry.isdigit() and _running_as(entry) == uid for entry in os.listdir("/proc"))


def _running_as(pid: str) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = {key: value.split() for key, _, value in (line.partition(":") for line in lines)}
    if fields.get("State", ["Z"])[0] == "Z" or "Uid" not in fields:
        return None
    return int(fields["Uid"][0])


def _host_workdir(uid: int | None) -> str:
    """The working directory when there is no private /tmp: private to the sandbox's user."""
    path = tempfile.mkdtemp(prefix="codescaler-sandbox-")
    if uid is not None:
        os.chown(path, uid, uid)
    return path


def _force_remove(function: Any, path: str, exc_info: Any) -> None:
    """The program may have left directories without write or search permission for us."""
    parent = os.path.dirname(path)
    try:
        os.chmod(parent, stat.S_IRWXU)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, onerror=_force_remove)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
