# Double fork and setsid: a daemon outside the sandbox's process group. __MARKER__ names it for the test.
import os
import sys


def solve(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", "__MARKER__"])
        os._exit(0)
    os.wait()
    return x + 1
