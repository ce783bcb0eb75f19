"""Runs inside the sandbox as the unprivileged user. Candidate programs never see a test, and tests never see
a candidate: every verdict is computed outside the candidate's process, from plain data.

The launcher starts it as `python -s -P -B -c <this file> 3 4`. Fd 3 carries the job, a pickle written by the
verifier (trusted data: it keeps the tuples, sets and complex numbers of the inputs); fd 4 takes the reports,
one line each, `NONCE JSON`. The nonce arrives with the job, so text written anywhere without it is ignored;
a run that exits, closes its streams or is killed before a report leaves it missing, which the verifier
counts as a failure, never a pass. Forked children that return into this code exit instead of reporting.
When the job carries a system-call filter, it is installed before anything else runs.

Modes:
* `calls`  a candidate (or a reference) is called on the given arguments, in groups that share one timer (a
           HumanEval check's calls, one MBPP assert, one call case); each return value is reported as plain
           data (`encode`). Nothing else of the test reaches this run: no expected value, no test code.
* `record` a reference solution and the test code, never a candidate: for each simple assert, the values of
           its arguments and constants (and the reference's result); for scripted tests (loops, helpers),
           every call the test makes with the reference's results.
* `judge`  a reference and the test code replayed against a candidate's recorded results (plain data, given
           back as fresh built-in objects), for scripted tests only: the test's own code decides, but no
           candidate code runs here.
* `stdio`  the program as `__main__` with the case's input on stdin; the verifier compares what it printed.
* `probe`  what the sandbox looks like from inside, for the verifier's isolation check.

Stdlib only: it runs as a script. `encode`, `decode` and `same` are also imported by the verifier.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import pickle
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

DETAIL_CHARS = 200
MAX_DEPTH = 100  # nesting of a plain value
MAX_ITEMS = 1_000_000  # scalars and containers in one plain value
_BIG_INT_BITS = 12000  # larger ints travel as hex: decimal text of > 4300 digits is refused by Python
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
SEED = 0  # `random` is seeded with this before every recorded or judged test: replays see the same inputs


class _Timeout(BaseException):
    """Raised by SIGALRM when a test's time is up (not an Exception: `except Exception` must not eat it)."""


class NotPlain(Exception):
    """A value outside the plain-data rules; the message says what and where."""


# ---- plain data -------------------------------------------------------------------------------------------
# JSON with one-key objects for what JSON lacks: {"t": [..]} tuple, {"d": [[k, v], ..]} dict, {"s": [..]} set,
# {"fs": [..]} frozenset, {"b": "hex"} bytes, {"c": [re, im]} complex, {"f": "nan"|"inf"|"-inf"} float,
# {"i": "hex"} int too large for JSON. Lists are JSON arrays; None, bools, small ints, finite floats and str
# are themselves. Decoded outside by training/sandbox/plain_data.py.

_NAMED_DICTS = ("collections.OrderedDict", "collections.defaultdict", "collections.Counter")


def encode(value: Any) -> Any:
    """`value` as plain data. Only built-in types qualify, read through the built-in types' own methods
    (`list.__iter__`, `int.__int__`), never the value's: an object whose `__eq__`, `__iter__`, `__len__`
    or `__bool__` lies cannot change what is reported. A subclass of a built-in type is refused (NotPlain),
    except the standard library's dict flavours (OrderedDict, defaultdict, Counter: compared as dicts) and
    named tuples (as tuples); numpy scalars and arrays are read with `tolist()`. Cycles, more than MAX_DEPTH
    levels or MAX_ITEMS items are refused too."""
    budget = [MAX_ITEMS]
    return _encode(value, 0, budget, set())


def _encode(value: Any, depth: int, budget: list[int], path: set[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlain(f"a value of more than {MAX_ITEMS} items")
    if depth > MAX_DEPTH:
        raise NotPlain(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or value is True or value is False:
        return value
    if kind is int:
        return {"i": hex(value)} if value.bit_length() > _BIG_INT_BITS else value
    if kind is float:
        return value if math.isfinite(value) else {"f": repr(value)}
    if kind is str:
        return value
    if kind is bytes:
        return {"b": bytes.hex(value)}
    if kind is complex:
        return {
            "c": [_encode(value.real, depth + 1, budget, path), _encode(value.imag, depth + 1, budget, path)]
        }
    container = _container(value, kind)
    if container is None:
        return _numpy(value, depth, budget, path)
    if id(value) in path:
        raise NotPlain("a container that contains itself")
    path.add(id(value))
    try:
        tag, items = container
        if tag == "d":
            return {
                "d": [
                    [_encode(k, depth + 1, budget, path), _encode(v, depth + 1, budget, path)]
                    for k, v in items
                ]
            }
        encoded = [_encode(item, depth + 1, budget, path) for item in items]
        return encoded if tag == "l" else {tag: encoded}
    finally:
        path.discard(id(value))


def _container(value: Any, kind: type) -> tuple[str, Any] | None:
    """(tag, items read by the built-in type's own methods) for the containers that are plain data."""
    if kind is list:
        return "l", list(list.__iter__(value))
    if kind is tuple or (tuple in kind.__bases__ and _named_tuple(kind)):
        return "t", list(tuple.__iter__(value))
    if kind is dict or (isinstance(value, dict) and f"{kind.__module__}.{kind.__qualname__}" in _NAMED_DICTS):
        return "d", list(dict.items(value))
    if kind is set:
        return "s", list(set.__iter__(value))
    if kind is frozenset:
        return "fs", list(frozenset.__iter__(value))
    return None


def _named_tuple(kind: type) -> bool:
    fields = kind.__dict__.get("_fields")
    return kind.__bases__ == (tuple,) and isinstance(fields, tuple) and all(type(f) is str for f in fields)


def _numpy(value: Any, depth: int, budget: list[int], path: set[int]) -> Any:
    kind = type(value)
    if kind.__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        converted = value.tolist()
        if type(converted).__module__ != "numpy":
            return _encode(converted, depth + 1, budget, path)
    base = next(
        (b.__name__ for b in kind.__mro__[1:] if b.__module__ == "builtins" and b is not object), None
    )
    what = f"{kind.__qualname__} (a subclass of {base})" if base else kind.__qualname__
    raise NotPlain(f"a value of type {_short(what)}, which is not plain data (return built-in values)")


def same(a: Any, b: Any) -> bool:
    """Whether two plain values are the same data: equal, and of the same types all the way down (1, 1.0
    and True differ, a list is not a tuple), NaN the same as NaN. For replays and the identical-result check."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    if kind is complex:
        return same(a.real, b.real) and same(a.imag, b.imag)
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if kind is dict:
        return a.keys() == b.keys() and all(same(value, b[key]) for key, value in a.items())
    return a == b  # None, bool, int, str, bytes; sets of hashable plain items


_TAGS = {"t", "d", "s", "fs", "b", "c", "f", "i"}


def decode(data: Any) -> Any:
    """Plain data (as `encode` wrote it, after a JSON round trip) back as built-in objects, checking every
    node: anything else, or more than MAX_DEPTH levels or MAX_ITEMS items, raises NotPlain. The verifier
    reads reports from sandboxes through this, so a forged report can only ever yield plain values."""
    return _decode(data, 0, [MAX_ITEMS])


def _decode(data: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise NotPlain("the value is too large or too deeply nested")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [_decode(item, depth + 1, budget) for item in data]
    if kind is not dict or len(data) != 1 or next(iter(data)) not in _TAGS:
        raise NotPlain(f"malformed plain data ({kind.__name__})")
    tag, inner = next(iter(data.items()))
    try:
        if tag == "f" and inner in ("nan", "inf", "-inf"):
            return float(inner)
        if tag == "i" and type(inner) is str:
            return int(inner, 16)
        if tag == "b" and type(inner) is str:
            return bytes.fromhex(inner)
        if type(inner) is not list:
            raise NotPlain(f"malformed plain data ({tag})")
        items = [_decode(item, depth + 1, budget) for item in inner]
        if tag == "c" and len(items) == 2 and all(type(x) in (int, float) for x in items):
            return complex(*items)
        if tag == "d" and all(type(pair) is list and len(pair) == 2 for pair in items):
            return {key: value for key, value in items}
        if tag in ("t", "s", "fs"):
            return {"t": tuple, "s": set, "fs": frozenset}[tag](items)
    except (TypeError, ValueError) as exc:  # unhashable keys or items, bad hex
        raise NotPlain(f"malformed plain data ({tag}: {exc})") from None
    raise NotPlain(f"malformed plain data ({tag})")


# ---- reporting and timing ---------------------------------------------------------------------------------


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


def _status(exc: BaseException) -> str:
    """A failed assert of the test code is a wrong answer; the program's own failed asserts are errors."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, AssertionError):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and frames[-1].filename == "<test>":
            return "wrong_answer"
    return "runtime_error"


def _timed(call: Callable[[], Any], timeout_s: float, test_source: str = "") -> tuple[str, str, float, Any]:
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
        status, detail = "runtime_error", f"the program exited (SystemExit: {exc.code})"
    except BaseException as exc:
        status, detail = _status(exc), _describe(exc)
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


def _load(code: Any, job: dict[str, Any], report: _Reporter) -> dict[str, Any]:
    """Run a program's top level in a fresh namespace; on failure every test gets that status."""
    namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    status, detail, _, _ = _timed(lambda: exec(code, namespace), job["timeout_s"])
    if status != "ok":
        report({"event": "load_error", "status": status, "detail": f"loading the program: {detail}"})
        _exit()
    return namespace


def _function(namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    """`name` at the program's top level, or the method of LeetCode-style `class Solution`."""
    if callable(namespace.get(name)):
        return namespace[name]
    solution = namespace.get("Solution")
    if isinstance(solution, type) and callable(getattr(solution, name, None)):
        return getattr(solution(), name)
    raise NameError(f"the program does not define {name}()")


def _encoded(value: Any) -> tuple[str, Any]:
    """("ok", plain data) or ("not_plain", why)."""
    try:
        return "ok", encode(value)
    except NotPlain as exc:
        return "not_plain", f"returned {exc}"
    except RecursionError:
        return "not_plain", "returned a value nested too deeply to read"


# ---- modes ------------------------------------------------------------------------------------------------


def _calls(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Call the program's functions on the job's arguments, group by group (one timer per group), and
    report what each call returned, as plain data. A timeout ends the run: later groups are not started."""
    namespace = _load(code, job, report)
    calls = job["calls"]
    for group in job["groups"]:
        current = [group[0]]

        def run(group: list[int] = group, current: list[int] = current) -> None:
            for index in group:
                current[0] = index
                start = time.perf_counter()
                args, kwargs = pickle.loads(calls[index]["args"])
                try:
                    result = _function(namespace, calls[index]["fn"])(*args, **kwargs)
                    status, result = _encoded(_REDUCE[calls[index]["reduce"]](result))
                except _Timeout:
                    raise
                except SystemExit as exc:
                    status, result = "runtime_error", f"the program exited (SystemExit: {exc.code})"
                except BaseException as exc:
                    status, result = _status(exc), _describe(exc)
                event = _event(
                    "call", index, status, "" if status == "ok" else result, time.perf_counter() - start
                )
                if status == "ok":
                    event["value"] = result
                report(event)

        status, detail, seconds, _ = _timed(run, job["timeout_s"])
        if status != "ok":
            report(_event("call", current[0], status, detail, seconds))
            return


# What a call case compares, where a task accepts more than one result (EvalPlus's MBPP+ oracles): a bool, or
# whether the result is not None (a regex match or None); or only that the call returned.
_REDUCE: dict[str, Callable[[Any], Any]] = {
    "": lambda result: result,
    "not_none": lambda result: result if type(result) is bool else result is not None,
    "returned": lambda result: None,
    "truth": bool,  # an assert that only asks whether the result is true (`assert f(x)`, `assert not f(x)`)
}


class _Recorder:
    """Stands in for a program's function in a scripted test: remembers each call (its arguments as plain
    data, taken before the call) and gives the test the plain copy of the result that a replay gives."""

    def __init__(self, name: str, function: Callable[..., Any], log: list[dict[str, Any]]) -> None:
        self.name, self.function, self.log = name, function, log

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        entry: dict[str, Any] = {"fn": self.name, "args": encode([list(args), kwargs])}
        self.log.append(entry)
        try:
            result = self.function(*args, **kwargs)
        except BaseException as exc:
            entry["error"] = _describe(exc)
            raise
        status, value = _encoded(result)
        if status != "ok":
            entry["error"] = value
            raise NotPlain(value)
        entry["output"] = value
        return decode(value)


class _Replayer:
    """Stands in for a program's function when judging: answers each call with the candidate's recorded
    result, after checking that the test asked for the same call as when it was recorded."""

    def __init__(self, name: str, replay: list[dict[str, Any]]) -> None:
        self.name, self.replay = name, replay

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.replay:
            raise ReplayMismatch(f"the test called {self.name}() more often than when it was recorded")
        entry = self.replay.pop(0)
        if entry["fn"] != self.name or not same(decode(encode([list(args), kwargs])), decode(entry["args"])):
            raise ReplayMismatch(
                f"the test called {self.name}() with other arguments than when it was recorded (they depend "
                "on an earlier result, which this program computed differently)"
            )
        return decode(entry["value"])


class ReplayMismatch(BaseException):
    """A judged test asked for a call that was not recorded: its inputs depend on the candidate's results.
    Not an Exception, so a test's own `except Exception` cannot swallow it."""


def _test_namespace(job: dict[str, Any], report: _Reporter) -> dict[str, Any]:
    """The reference's namespace (when there is one) with the test code run in it, as HumanEval and MBPP
    run tests in the program's namespace: helpers such as HumanEval/32's `poly` are the reference's."""
    namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    if job["reference"]:
        namespace = _load(compile(job["reference"], "reference.py", "exec"), job, report)
    test = compile(job["test_code"], "<test>", "exec")
    random.seed(SEED)
    status, detail, _, _ = _timed(lambda: exec(test, namespace), job["timeout_s"], job["test_code"])
    if status != "ok":
        report({"event": "load_error", "status": status, "detail": f"the test code failed: {detail}"})
        _exit()
    return namespace


def _record(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Run each unit of the test against the reference: simple units evaluate their asserts' arguments and
    constants (the `__case__` calls assert_analysis wrote in their place), scripted units record every call
    the test makes."""
    namespace = _test_namespace(job, report)
    reference = namespace.get(job["entry_point"]) if job["reference"] else None

    def case(
        case_id: int,
        function: Any,
        arguments: Callable[[], Any],
        constants: Callable[[], Any],
        reduce: str = "",
    ) -> None:
        event: dict[str, Any] = {"event": "case", "id": case_id}
        try:
            args, kwargs = arguments()
            event["args"] = encode([list(args), kwargs])
            event["consts"] = encode(list(constants()))
        except Exception as exc:  # NotPlain included
            event["error"] = f"the test's values could not be read: {_describe(exc)}"
            report(event)
            return
        if isinstance(function, str):
            function = namespace.get(function) if job["reference"] else None
        if function is not None:
            try:
                status, value = _encoded(_REDUCE[reduce](function(*args, **kwargs)))
            except Exception as exc:
                status, value = "error", _describe(exc)
            event["output" if status == "ok" else "reference_error"] = value
        report(event)

    namespace["__case__"] = case
    for unit in job["units"]:
        log: list[dict[str, Any]] = []
        if unit["kind"] == "check":
            target = _Recorder(job["entry_point"], reference, log) if unit["scripted"] else reference
            run = lambda target=target: namespace["check"](target)  # noqa: E731
        else:
            scope = dict(namespace)
            for name in unit["record"]:
                scope[name] = _Recorder(name, namespace[name], log)
            run = lambda unit=unit, scope=scope: exec(compile(unit["source"], "<test>", "exec"), scope)  # noqa: E731
        random.seed(SEED)
        status, detail, _, _ = _timed(run, job["timeout_s"], unit["source"] or job["test_code"])
        if unit["scripted"]:
            report(
                {"event": "recorded", "unit": unit["id"], "status": status, "detail": detail, "calls": log}
            )
        elif status != "ok":
            report({"event": "recorded", "unit": unit["id"], "status": status, "detail": detail, "calls": []})


def _judge(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Replay scripted tests against a candidate's recorded results; the test's own code decides."""
    namespace = _test_namespace(job, report)
    for unit in job["units"]:
        replay = list(unit["replay"])
        if unit["kind"] == "check":
            run = lambda replay=replay: namespace["check"](_Replayer(job["entry_point"], replay))  # noqa: E731
            source = job["test_code"]
        else:
            scope = dict(namespace)
            for name in unit["record"]:
                scope[name] = _Replayer(name, replay)
            source = unit["source"]
            run = lambda source=source, scope=scope: exec(compile(source, "<test>", "exec"), scope)  # noqa: E731
        random.seed(SEED)
        status, detail, seconds, _ = _timed(run, job["timeout_s"], source)
        if status == "runtime_error" and detail.startswith("ReplayMismatch: "):
            status, detail = "wrong_answer", detail.removeprefix("ReplayMismatch: ")
        report(_event("judged", unit["id"], "passed" if status == "ok" else status, detail, seconds))


def _stdio(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """Standard input tests: run the program as __main__ (stdin is the test's input), waiting for its
    non-daemon threads as the interpreter would; the verifier compares what it printed."""
    crashed: list[BaseException] = []
    threading.excepthook = lambda args: crashed.append(args.exc_value or RuntimeError("thread failed"))
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "__file__": "solution.py"}

    def run() -> None:
        try:
            exec(code, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        finally:
            for thread in threading.enumerate():
                if thread is not threading.main_thread() and not thread.daemon:
                    thread.join()

    status, detail, seconds, _ = _timed(run, job["timeout_s"])
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):  # closed or replaced by the program: its output stands
            stream.flush()
    if status == "ok" and crashed:
        status, detail = _status(crashed[0]), f"in a thread: {_describe(crashed[0])}"
    report(_event("test", 0, status, detail, seconds))


def _probe(code: Any, job: dict[str, Any], report: _Reporter) -> None:
    """What the sandbox looks like from inside, for the verifier's isolation check at first use (the
    verifier then looks for the marker file in the host's /tmp)."""
    import socket

    with contextlib.suppress(OSError), open(job["tmp_marker"], "w") as handle:
        handle.write("probe")
    visible = [path for path in job["must_not_see"] if os.path.lexists(path)]
    report(
        {
            "event": "probe",
            "version": sys.version.split()[0],
            "read_only_root": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
            "interfaces": [name for _, name in socket.if_nameindex()],
            "visible": visible,
            "filtered": _filtered(),
        }
    )


def _filtered() -> bool:
    """Whether the system-call filter is in force (memfd_create refused)."""
    try:
        os.close(os.memfd_create("probe"))
    except OSError:
        return True
    return False


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


def _install_filter(program: bytes) -> None:
    """Load the verifier's seccomp program (classic BPF, 8 bytes an instruction) for this process and all
    it starts; it cannot be removed afterwards."""
    import ctypes

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(len(program) // 8, ctypes.addressof(buffer))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def _event(name: str, index: int, status: str, detail: str, seconds: float) -> dict[str, Any]:
    return {"event": name, "index": index, "status": status, "detail": detail, "duration_s": seconds}


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
    if job["seccomp"]:
        try:
            _install_filter(job["seccomp"])
        except OSError as exc:
            print(f"codescaler-sandbox: setup failed: system-call filter: {exc}", file=sys.stderr, flush=True)
            os._exit(121)
    report({"event": "started"})
    sys.argv = ["solution.py"]
    sys.path.extend(job["site_dirs"])
    if job["block_network"]:
        _block_network()
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        code = compile(job["code"], "solution.py", "exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        report({"event": "syntax_error", "detail": _describe(exc)})
        _exit()
    report(
        {"event": "compiled"}
    )  # from here on, reports may be the program's forgeries: see Run.syntax_error
    modes = {"calls": _calls, "record": _record, "judge": _judge, "stdio": _stdio, "probe": _probe}
    modes[job["mode"]](code, job, report)
    report({"event": "done"})
    _exit()


if __name__ == "__main__":
    main()
