"""One memory cgroup per sandbox run: a limit on every page the run's whole process tree holds (heap, stacks,
tmpfs and /dev/shm files, pipes' and sockets' buffers), where rlimits only bound each process's address
space. Needs root and the memory controller, from cgroup v1 (a `memory` hierarchy) or v2 (a parent whose
memory controller can be handed to a group of ours); found once per process by `find()`.

Layout: `<base>/codescaler-<verifier pid>/run-<random>`, the first made at first use and removed at exit (with
those of verifiers that died), each run's made by `create` and removed by `RunCgroup.remove`. The verifier moves the launcher into
the run's group before the launcher starts anything, so everything the program starts is inside it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "codescaler-"


@dataclass(frozen=True)
class RunCgroup:
    path: Path
    version: int

    def admit(self, pid: int) -> None:
        """Move process `pid` and the children it has already started into the group. Moving a process
        waits for an RCU grace period (several ms), which the launcher's start-up overlaps: it waits on
        its go pipe until this is done. A child forked during the move inherits it (fork and the move
        exclude each other), so one look at the children afterwards is enough."""
        procs = self.path / "cgroup.procs"
        _write(procs, pid)
        for child in _children(pid):
            _write(procs, child)

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the run for going over the limit."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            lines = (self.path / name).read_text().splitlines()
        except OSError:
            return False
        counts = dict(line.split(maxsplit=1) for line in lines if " " in line)
        return int(counts.get("oom_kill", "0")) > 0

    def peak_bytes(self) -> int:
        """The most memory the group's processes held together (0 where the kernel does not say)."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((self.path / name).read_text())
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Remove the group once its processes are gone (killed processes take a moment to exit)."""
        for _ in range(2000):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.001)


@dataclass(frozen=True)
class MemoryCgroups:
    base: Path  # codescaler-<pid>, this process's parent group
    version: int

    def create(self, memory_bytes: int) -> RunCgroup:
        path = self.base / f"run-{secrets.token_hex(6)}"
        path.mkdir()
        group = RunCgroup(path, self.version)
        try:
            if self.version == 1:
                _write(path / "memory.limit_in_bytes", memory_bytes)
                if (path / "memory.memsw.limit_in_bytes").exists():  # no swapping out to get around it
                    _write(path / "memory.memsw.limit_in_bytes", memory_bytes)
            else:
                _write(path / "memory.max", memory_bytes)
                if (path / "memory.swap.max").exists():
                    _write(path / "memory.swap.max", 0)
        except OSError:
            group.remove()
            raise
        return group


def find() -> MemoryCgroups | str:
    """The memory cgroups this process can make, or why it cannot."""
    if os.geteuid() != 0:
        return "not root"
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError as exc:
        return f"cannot read /proc/self/cgroup ({exc.strerror})"
    for line in own:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return _setup(_directory(mounts, "cgroup", "memory", path), 1)
    for line in own:
        if line.startswith("0::"):
            directory = _directory(mounts, "cgroup2", "", line[3:])
            if directory is None:
                return "no cgroup2 mount"
            for base in (directory.parent, directory):
                found = _setup(base, 2)
                if isinstance(found, MemoryCgroups):
                    return found
            return found
    return "no memory controller"


def _directory(mounts: list[str], fstype: str, option: str, path: str) -> Path | None:
    """Where this process's cgroup `path` is on a mounted hierarchy of `fstype` (v1: with `option`)."""
    for line in mounts:
        fields = line.split()
        separator = fields.index("-")
        kind, options = fields[separator + 1], fields[separator + 3].split(",")
        if kind != fstype or (option and option not in options):
            continue
        root, mount_point = fields[3], fields[4]
        relative = os.path.relpath(path, root) if path.startswith(root) else None
        if relative is not None:
            return Path(mount_point) / ("" if relative == "." else relative)
    return None


def _setup(base: Path | None, version: int) -> MemoryCgroups | str:
    if base is None or not base.is_dir():
        return "the memory hierarchy is not mounted"
    _remove_stale(base)
    mine = base / f"{_PREFIX}{os.getpid()}"
    try:
        mine.mkdir(exist_ok=True)
        if version == 2:
            if "memory" not in (base / "cgroup.subtree_control").read_text().split():
                _write(base / "cgroup.subtree_control", "+memory")
            _write(mine / "cgroup.subtree_control", "+memory")
        cgroups = MemoryCgroups(mine, version)
        cgroups.create(1 << 30).remove()  # a run's group can be made and limited
    except OSError as exc:
        with contextlib.suppress(OSError):
            mine.rmdir()
        return f"cannot make a memory cgroup under {base} ({exc.strerror or exc})"
    atexit.register(_remove_tree, mine)
    return cgroups


def _remove_stale(base: Path) -> None:
    """Groups left by verifiers that were killed (their pid is gone)."""
    for entry in base.glob(f"{_PREFIX}*"):
        pid = entry.name.removeprefix(_PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove_tree(entry)


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir():
                RunCgroup(child, 0).remove()
        path.rmdir()


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _write(path: Path, value: object) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))
