"""What one candidate may use: the knobs of the sandbox, with defaults sized for competitive-programming and
benchmark problems on a laptop or a CI runner."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from engine.errors import CodescalerError

# Seconds a sandbox run gets on top of its test budget: starting the namespaces and two Python interpreters
# (the launcher and the harness) on a loaded 2-core machine. Not the candidate's time: the harness measures
# each test from its own start.
STARTUP_S = 3.0


@dataclass(frozen=True)
class Limits:
    """Per-candidate limits. `memory_mb` bounds all of a run's processes together where the machine has a
    memory cgroup (sandbox/cgroup.py), and each process's address space (RLIMIT_AS) everywhere; processes
    and files are per sandbox process (rlimits)."""

    timeout_s: float = 5.0  # one test: one call, one assert, check(), or one stdio run of the program
    total_timeout_s: float = 60.0  # all tests of one candidate; tests left when it runs out are timeouts
    memory_mb: int = 512  # all processes together (memory cgroup), and each one's address space (RLIMIT_AS)
    output_bytes: int = 4 * 1024 * 1024  # stdout + stderr of one run (and call results per test); more kills
    file_mb: int = 16  # largest file (RLIMIT_FSIZE), and the size of the private /tmp
    processes: int = 32  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    open_files: int = 64  # file descriptors per process (RLIMIT_NOFILE)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise CodescalerError(f"sandbox limit {spec.name} must be a positive number, got {value!r}")

    def cpu_seconds(self, wall_s: float) -> int:
        """RLIMIT_CPU for a run with wall-clock budget `wall_s`: CPU time cannot exceed wall time by more
        than the cores used, and a program that burns CPU past its budget is a timeout either way."""
        return math.ceil(wall_s) + 1
