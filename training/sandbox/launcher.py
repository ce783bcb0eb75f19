"""The first process of a sandbox: sets the stage, starts the harness, and makes sure nothing outlives it.

The verifier starts it as `unshare ... -- python -I -S launcher.py CONFIG_JSON`. It runs as root (or as
root of a fresh user namespace) inside the new namespaces, as PID 1 of the sandbox's PID namespace when there
is one: when it exits, the kernel kills every process left in the namespace, including grandchildren that
escaped the process group with setsid. It never runs candidate code itself; the harness does, after this
process has switched it to an unprivileged user with the rlimits set.

With a mount namespace it makes the whole filesystem read-only and nosuid (mount_setattr, recursively),
mounts a private size-limited tmpfs on /tmp and /dev/shm (the working directory is /tmp/work) and a /proc
that shows only the sandbox's processes. Without a PID namespace it is the children's subreaper and kills
what is left of them itself (the verifier also kills by user id when it switched users).

Exit status: the harness's, 128 + N when signal N killed it, SETUP_FAILED (reason on stderr) when the
stage could not be set. Trusted code; stdlib only, because it runs under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

SETUP_FAILED = 121  # not 120: Python exits with 120 when it cannot flush stdout at exit
HARNESS_FDS = (3, 4)  # the job pipe and the report pipe, as the harness sees them
STAGE = "/tmp"  # where the paths bubblewrap binds are staged, in this process's private mount namespace

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
_MS_REMOUNT, _MS_BIND, _MS_REC = 0x20, 0x1000, 0x4000
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID = 0x1, 0x2
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added after the syscall tables merged)
_PR_CAPBSET_DROP, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 24, 36, 38

_libc = ctypes.CDLL(None, use_errno=True)
_harness_pid = 0


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("attr_set", "attr_clr", "propagation", "userns_fd")]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str, flags: int, data: str | None = None) -> None:
    options = data.encode() if data is not None else None
    result = _libc.mount(source.encode(), target.encode(), fstype.encode(), ctypes.c_ulong(flags), options)
    _check(result, f"mount {fstype} on {target}")


def _private_filesystem(config: dict[str, Any]) -> str:
    """Read-only host filesystem, private /tmp and /dev/shm, the sandbox's own /proc; returns the workdir."""
    attr = _MountAttr(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID, 0, 0, 0)
    result = _libc.syscall(
        _SYS_MOUNT_SETATTR, _AT_FDCWD, b"/", _AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    _check(result, "mount_setattr / read-only")
    tmpfs = f"size={config['tmp_mb']}m,mode=1777"
    for private in ("/tmp", "/dev/shm"):
        if os.path.isdir(private):
            kept = _hold(config["keep"], private)
            _mount("tmpfs", private, "tmpfs", _MS_NOSUID | _MS_NODEV, tmpfs)
            _restore(kept)
    if config["pid_ns"]:
        try:
            _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        except OSError as exc:  # the host's /proc stays: an information leak, not an escape
            print(f"codescaler-sandbox: note: {exc.strerror}", file=sys.stderr, flush=True)
    workdir = "/tmp/work"
    os.mkdir(workdir, 0o700)
    if config["uid"] is not None:
        os.chown(workdir, config["uid"], config["uid"])
    return workdir


def _hold(paths: list[str], under: str) -> dict[str, int]:
    """Handles on the paths under `under` that the harness needs (the code itself, the interpreter's
    site-packages when a checkout or venv lives in /tmp), taken before a tmpfs covers them."""
    return {
        path: os.open(path, os.O_PATH)
        for path in paths
        if path.startswith(under + "/") and os.path.exists(path)
    }


def _restore(held: dict[str, int]) -> None:
    """Bind the held paths back, read-only, at the same place inside the new tmpfs."""
    for path, fd in held.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()
        _mount(f"/proc/self/fd/{fd}", path, "", _MS_BIND | _MS_REC)
        _mount("", path, "", _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
        os.close(fd)


def _drop_privileges(config: dict[str, Any]) -> None:
    """rlimits first (raising them needs the capabilities about to go), then no capabilities that an exec
    could regain, then the unprivileged user: with a fresh uid, RLIMIT_NPROC counts only this sandbox."""
    for name, (soft, hard) in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last_cap = int(handle.read())
    except OSError:
        last_cap = 40
    for cap in range(last_cap + 1):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EPERM without CAP_SETPCAP: nothing to drop then
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    if config["uid"] is not None:
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])


def _stage(binds: list[list[str]]) -> dict[str, str]:
    """As root, before switching to the run's uid: the host paths bubblewrap binds, mounted again under a
    private /tmp (this process's mount namespace only), so the unprivileged uid can reach them even where
    a parent directory is closed to it (an interpreter under /root). Handles on the paths are taken before
    the tmpfs covers /tmp, in case a checkout or venv lives there."""
    held = [(source, os.open(source, os.O_PATH | os.O_CLOEXEC)) for source, _ in binds]
    _mount("tmpfs", STAGE, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755")
    staged = {}
    for number, (source, fd) in enumerate(held):
        path = f"{STAGE}/{number}"
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.mkdir(path)
        else:
            open(path, "w").close()
        _mount(f"/proc/self/fd/{fd}", path, "", _MS_BIND | _MS_REC)
        os.close(fd)
        staged[source] = path
    return staged


def _exec_harness(config: dict[str, Any], workdir: str, staged: dict[str, str]) -> None:
    job, report = os.dup(config["job_fd"]), os.dup(config["result_fd"])
    os.dup2(job, HARNESS_FDS[0])
    os.dup2(report, HARNESS_FDS[1])
    for fd in HARNESS_FDS:
        os.set_inheritable(fd, True)
    os.closerange(HARNESS_FDS[1] + 1, max(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536))
    with open(config["harness"], encoding="utf-8") as handle:
        source = handle.read()
    _drop_privileges(config)
    os.umask(0o077)
    # Isolated mode (-I) without -E: the environment is built from scratch anyway, and PYTHONHASHSEED
    # must apply, or set iteration order (and so the results of MBPP+ tasks that return tuple(set(...)))
    # would differ between the reference's run and the candidate's.
    argv = [config["python"], "-s", "-P", "-B", "-c", source, *map(str, HARNESS_FDS)]
    bwrap = config["bwrap"]
    if bwrap is not None:  # bubblewrap sets the directory and the environment inside
        binds = [
            arg
            for source, target in bwrap["binds"]
            for arg in ("--ro-bind", staged.get(source, source), target)
        ]
        argv = [*bwrap["head"], *binds, *bwrap["tail"], *argv]
        os.execve(argv[0], argv, {})
    os.chdir(workdir)
    os.execve(config["python"], argv, {**config["env"], "HOME": workdir, "TMPDIR": workdir})


def _kill_orphans() -> None:
    """Without a PID namespace or a user of its own, the sandbox's processes are this process's
    descendants: as their subreaper it inherits the ones that daemonized, and kills them all."""
    me = str(os.getpid())
    while True:
        children = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == me:
                children.append(int(entry))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _on_deadline(signum: int, frame: object) -> None:
    """The verifier kills the sandbox at its deadline; this covers a verifier that died first."""
    os.kill(_harness_pid, signal.SIGKILL)


def main() -> None:
    global _harness_pid
    config = json.loads(sys.argv[1])
    staged: dict[str, str] = {}
    try:
        if os.read(config["go_fd"], 1) != b"1":  # the verifier has moved us into the run's memory cgroup
            raise OSError("the verifier did not start the run")
        os.close(config["go_fd"])
        if config["bwrap"] is not None and config["bwrap"]["stage"]:
            staged = _stage(config["bwrap"]["binds"])
        workdir = _private_filesystem(config) if config["private_fs"] else config["workdir"]
        if config["reap_orphans"]:
            _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")
    except OSError as exc:
        print(f"codescaler-sandbox: setup failed: {exc.strerror or exc}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    _harness_pid = os.fork()
    if _harness_pid == 0:
        try:
            _exec_harness(config, workdir, staged)
        except BaseException as exc:
            print(f"codescaler-sandbox: setup failed: {exc}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    os.close(config["job_fd"])
    os.close(config["result_fd"])
    signal.signal(signal.SIGALRM, _on_deadline)
    signal.alarm(max(1, int(config["deadline_s"])))
    while True:  # as PID 1 this also reaps every orphan of the sandbox
        pid, status = os.wait()
        if pid == _harness_pid:
            break
    if config["reap_orphans"]:
        _kill_orphans()
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
