# Looks at the host through /proc, signals a host process by its pid, writes files where the host would
# see them, and leaves a daemon and a process that ignores signals behind.
import os
import signal
import sys

MARKER = "__MARKER__"
BYSTANDER = __BYSTANDER__
TARGETS = __TARGETS__


def solve(x):
    seen = {}
    for path in ("/proc/1/root" + TARGETS[0], "/proc/1/root/etc/hostname", "/proc/1/cwd"):
        try:
            seen[path] = sorted(os.listdir(path))[:5] if os.path.isdir(path) else open(path).read(64)
        except OSError as exc:
            seen[path] = f"refused ({exc.errno})"
    try:
        os.kill(BYSTANDER, signal.SIGKILL)
        seen["kill"] = "sent"
    except OSError as exc:
        seen["kill"] = f"refused ({exc.errno})"
    for target in TARGETS:
        try:
            with open(target, "w") as handle:
                handle.write("escaped")
            seen[target] = "written"
        except OSError as exc:
            seen[target] = f"refused ({exc.errno})"
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(
                sys.executable,
                [
                    sys.executable,
                    "-c",
                    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(120)",
                    MARKER,
                ],
            )
        os._exit(0)
    os.wait()
    return seen
