"""Runs inside the sandbox as the unprivileged user: loads the candidate program and runs its tests.

The launcher starts it as `python -s -P -B -c <this file> 3 4`. Fd 3 carries the job, a pickle written by the
verifier (trusted data: it keeps the tuples, sets and complex numbers of MBPP+ inputs); fd 4 takes the
reports, one line each, `NONCE JSON`. The nonce arrives with the job, so text the candidate writes anywhere
without it is ignored, and a candidate that exits (`os._exit(0)`), closes its streams or gets killed before
a test reports leaves that test unreported, which the verifier counts as a failure, never a pass. Forked
children of the candidate that return into this code exit instead of reporting.

The candidate shares this interpreter, so a program written against this harness could still forge the
reports of `check` and `asserts` tests. `call` tests are safer: their return values are converted to plain
data here without calling the values' own methods, and compared with the expected outputs outside the
sandbox (the expected outputs never enter it).

Stdlib only and no package imports: it runs as a script. `plain` is also imported by the verifier.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import pickle
import signal
import site
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

DETAIL_CHARS = 200
_MAX_DEPTH = 64
_BIG_INT_BITS = 12000  # larger ints travel as hex: decimal text of > 4300 digits is refused by Python


class _Timeout(BaseException):
    """Raised by SIGALRM when a test's time is up (not an Exception: `except Exception` must not eat it)."""


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON-ready data for comparison outside the sandbox. Built from the builtin types' own
    methods (`list.__iter__`, `int.__int__`), never the value's: a returned object whose `__eq__` is always
    True must not pass. Tuples become lists (JSON has no tuples); dicts, sets, complex numbers, huge ints
    and other objects become one-key objects ("__dict__", "__set__", "__complex__", "__int__", "__repr__"),
    so every JSON object in the result is such a marker."""
    if depth > _MAX_DEPTH:
        return {"__repr__": "<nested too deeply>"}
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        number = int.__int__(value)
        return {"__int__": hex(number)} if number.bit_length() > _BIG_INT_BITS else number
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, complex):
        return {"__complex__": [complex.real.__get__(value), complex.imag.__get__(value)]}
    if isinstance(value, list | tuple):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [plain(item, depth + 1) for item in items]
    if isinstance(value, dict):
        return {"__dict__": [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in dict.items(value)]}
    if isinstance(value, set | frozenset):
        items = set.__iter__(value) if isinstance(value, set) else frozenset.__iter__(value)
        return {"__set__": [plain(item, depth + 1) for item in items]}
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist(), depth + 1)
    return {"__repr__": _short(repr(value))}


def _short(text: str) -> str:
    text = text.strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= DETAIL_CHARS else line[: DETAIL_CHARS - 3] + "..."


def _describe(exc: BaseException) -> str:
    try:
        message = _short(str(exc))
    except BaseException:  # a hostile __str__
        message = ""
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


class _Reporter:
    def __init__(self, fd: int, nonce: str) -> None:
        self.fd, self.prefix, self.pid = fd, nonce.encode() + b" ", os.getpid()

    def __call__(self, event: dict[str, Any]) -> None:
        if os.getpid() != self.pid:  # a fork of the candidate came back into the harness
            os._exit(0)
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            data = self.prefix + json.dumps(event).encode() + b"\n"
        finally:
            sys.set_int_max_str_digits(limit)
        while data:
            data = data[os.write(self.fd, data) :]


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _status(exc: BaseException, mode: str) -> str:
    """A failed assert of the test code is a wrong answer; the program's own failed asserts are errors."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, AssertionError) and mode in ("check", "asserts"):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and frames[-1].filename.startswith("<test"):
            return "wrong_answer"
    return "runtime_error"


def _timed(
    call: Callable[[], Any], timeout_s: float, mode: str, test_source: str = ""
) -> tuple[str, str, float, Any]:
    """(status, detail, seconds, value) of `call()` under a SIGALRM deadline; status "ok" when it returned.
    `test_source` is the test code compiled as "<test>", to quote the line of a failed assert."""
    start = time.perf_counter()
    value = None
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            value = call()
        finally:  # the alarm may fire in here: the outer handler still sees it
            signal.setitimer(signal.ITIMER_REAL, 0)
        status, detail = "ok", ""
    except _Timeout:
        status, detail = "timeout", f"took longer than {timeout_s:g}s"
    except SystemExit as exc:
        code = exc.code
        ok = mode == "stdio" and code in (None, 0)
        status, detail = ("ok", "") if ok else ("runtime_error", f"the program exited (SystemExit: {code})")
    except BaseException as exc:
        status, detail = _status(exc, mode), _describe(exc)
        if status == "wrong_answer":
            detail = _failed_line(exc, test_source) or detail
    return status, detail, time.perf_counter() - start, value


def _failed_line(exc: BaseException, test_source: str) -> str:
    """ "AssertionError at `assert f(2) == 4`": the test line that failed, when it is in the test code."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__, limit=None) if f.filename == "<test>"]
    source = test_source.splitlines()
    if not lines or not lines[-1] or not 0 < lines[-1] <= len(source):
        return ""
    return _short(f"{type(exc).__name__} at `{source[lines[-1] - 1].strip()}`")


def _load(code: Any, mode: str, job: dict[str, Any], report: _Reporter) -> dict[str, Any]:
    """Run the program's top level in a fresh namespace; on failure every test gets that status."""
    namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    status, detail, _, _ = _timed(lambda: exec(code, namespace), job["timeout_s"], mode)
    if status != "ok":
        report({"event": "load_error", "status": status, "detail": f"loading the program: {detail}"})
        _exit()
    return namespace


def _check(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """HumanEval: the test code defines check(candidate) and may use the program's helpers."""
    namespace = _load(code, "check", job, report)
    entry_point = job["entry_point"]

    def run() -> None:
        if not callable(namespace.get(entry_point)):
            raise NameError(f"the program does not define {entry_point}()")
        exec(compile(job["test_code"], "<test>", "exec"), namespace)
        namespace["check"](namespace[entry_point])

    status, detail, seconds, _ = _timed(run, job["timeout_s"], "check", job["test_code"])
    report(_test(0, "passed" if status == "ok" else status, detail, seconds))


def _asserts(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """MBPP: the setup, then each assert on its own, in the program's namespace."""
    namespace = _load(code, "asserts", job, report)
    setup = job["setup"]
    status, detail, _, _ = _timed(
        lambda: exec(compile(setup, "<test setup>", "exec"), namespace), job["timeout_s"], ""
    )
    if status != "ok":
        report({"event": "load_error", "status": status, "detail": f"the test setup failed: {detail}"})
        _exit()
    for index, text in enumerate(job["asserts"]):
        test = lambda text=text: exec(compile(text, "<test>", "exec"), namespace)  # noqa: E731
        status, detail, seconds, _ = _timed(test, job["timeout_s"], "asserts", text)
        report(_test(index, "passed" if status == "ok" else status, detail, seconds))
        if status == "timeout":
            break


def _function(namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    """`name` at the program's top level, or the method of LeetCode-style `class Solution`."""
    if callable(namespace.get(name)):
        return namespace[name]
    solution = namespace.get("Solution")
    if isinstance(solution, type) and callable(getattr(solution, name, None)):
        return getattr(solution(), name)
    raise NameError(f"the program does not define {name}()")


def _call(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Function-call tests: report each return value as plain data; the verifier compares."""
    namespace = _load(code, "call", job, report)
    status, detail, _, function = _timed(
        lambda: _function(namespace, job["fn_name"]), job["timeout_s"], "call"
    )
    if status != "ok":
        report({"event": "load_error", "status": status, "detail": detail})
        _exit()
    for index, args in enumerate(job["inputs"]):
        status, detail, seconds, value = _timed(lambda a=args: plain(function(*a)), job["timeout_s"], "call")
        event = _test(index, status, detail, seconds)
        if status == "ok":
            event["value"] = value
        report(event)
        if status == "timeout":
            break


def _stdio(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Standard input tests: run the program as __main__ (stdin is the test's input), waiting for its
    non-daemon threads as the interpreter would; the verifier compares what it printed."""
    crashed: list[BaseException] = []
    threading.excepthook = lambda args: crashed.append(args.exc_value or RuntimeError("thread failed"))
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "__file__": "solution.py"}

    def run() -> None:
        try:
            exec(code, namespace)
        finally:
            for thread in threading.enumerate():
                if thread is not threading.main_thread() and not thread.daemon:
                    thread.join()

    status, detail, seconds, _ = _timed(run, job["timeout_s"], "stdio")
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):  # closed or replaced by the program: its output stands
            stream.flush()
    if status == "ok" and crashed:
        status, detail = _status(crashed[0], "stdio"), f"in a thread: {_describe(crashed[0])}"
    report(_test(0, status, detail, seconds))


def _probe(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """What the sandbox looks like from inside, for the verifier's isolation check at first use (the
    verifier then looks for the marker file in the host's /tmp)."""
    import socket

    with contextlib.suppress(OSError), open(job["tmp_marker"], "w") as handle:
        handle.write("probe")
    report(
        {
            "event": "probe",
            "version": sys.version.split()[0],
            "read_only_root": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
            "interfaces": [name for _, name in socket.if_nameindex()],
        }
    )


def _block_network() -> None:
    """Fallback without a network namespace: refuse inet sockets in Python. Native code (ctypes, a
    subprocess) gets around this; the verifier warns about it once."""
    import errno
    import socket

    def guard(name: str) -> None:
        original = getattr(socket.socket, name)

        def method(self: socket.socket, *args: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise OSError(errno.ENETUNREACH, "network access is disabled in the sandbox")
            return original(self, *args)

        setattr(socket.socket, name, method)

    for name in ("connect", "connect_ex", "bind", "sendto"):
        guard(name)


def _test(index: int, status: str, detail: str, seconds: float) -> dict[str, Any]:
    return {"event": "test", "index": index, "status": status, "detail": detail, "duration_s": seconds}


def _exit() -> None:
    """Leave without running the program's atexit handlers or waiting for its threads."""
    os._exit(0)


def _read_job(fd: int) -> dict[str, Any]:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return pickle.loads(b"".join(chunks))


def main() -> None:
    job = _read_job(int(sys.argv[1]))
    report_fd = int(sys.argv[2])
    os.set_inheritable(report_fd, False)  # the program's subprocesses do not get the report pipe
    report = _Reporter(report_fd, job["nonce"])
    report({"event": "started"})
    sys.argv = ["solution.py"]
    for directory in job["site_dirs"]:
        site.addsitedir(directory)
    if job["block_network"]:
        _block_network()
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        code = compile(job["code"], "solution.py", "exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        report({"event": "syntax_error", "detail": _describe(exc)})
        _exit()
    modes = {"check": _check, "asserts": _asserts, "call": _call, "stdio": _stdio, "probe": _probe}
    modes[job["mode"]](code, job, report)
    report({"event": "done"})
    _exit()


if __name__ == "__main__":
    main()
