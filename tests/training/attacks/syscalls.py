# Tries what a sandbox must refuse; returns, per attempt, "refused" or what happened.
import ctypes
import os
import subprocess

libc = ctypes.CDLL(None, use_errno=True)
NR = {
    "ptrace": 101,
    "mount": 165,
    "bpf": 321,
    "keyctl": 250,
    "add_key": 248,
    "setns": 308,
    "unshare": 272,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "perf_event_open": 298,
    "open_tree": 428,
}
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000


def attempt(call):
    try:
        result = call()
    except OSError as exc:
        return f"refused ({exc.errno})"
    return f"allowed ({result})"


def raw(name, *args):
    def call():
        result = libc.syscall(NR[name], *args)
        if result < 0:
            raise OSError(ctypes.get_errno(), name)
        return result

    return call


def solve(x):
    results = {
        "memfd_create": attempt(lambda: os.memfd_create("hoard")),
        "unshare user": attempt(raw("unshare", CLONE_NEWUSER)),
        "unshare mount": attempt(raw("unshare", CLONE_NEWNS)),
        "mount": attempt(raw("mount", b"none", b"/tmp", b"tmpfs", 0, None)),
        "ptrace": attempt(raw("ptrace", 0, 0, 0, 0)),
        "bpf": attempt(raw("bpf", 0, 0, 0)),
        "keyctl": attempt(raw("keyctl", 0, 0, 0)),
        "add_key": attempt(raw("add_key", b"user", b"x", b"y", 1, -2)),
        "setns": attempt(raw("setns", os.open("/proc/self/ns/net", os.O_RDONLY), 0)),
        "userfaultfd": attempt(raw("userfaultfd", 0)),
        "io_uring_setup": attempt(raw("io_uring_setup", 1, 0)),
        "open_tree": attempt(raw("open_tree", -100, b"/", 0)),
    }
    try:
        status = subprocess.run(
            ["unshare", "-r", "--mount", "true"], capture_output=True, timeout=10
        ).returncode
        results["unshare -r --mount"] = "refused" if status else "allowed"
    except OSError as exc:
        results["unshare -r --mount"] = f"refused ({exc.errno})"
    return results
