"""Expected outputs computed from a problem's reference solution, run in the sandbox like a candidate.

MBPP+ ships inputs and a canonical solution, not outputs (EvalPlus computes them the same way). Every
candidate of a problem needs the same outputs, so they are computed once per process (one computation per
problem even with parallel workers) and, given a cache directory, kept on disk under a hash of the
reference, the function name and the inputs. Only complete computations are stored on disk: one that hit a
timeout may succeed on a less loaded machine.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, write_jsonl_atomic
from training.problems import TestSpec
from training.sandbox.isolation import Isolation
from training.sandbox.limits import Limits
from training.sandbox.outcome import from_report, reported, unreported
from training.sandbox.runner import run_job

CACHE_VERSION = 1  # bump when the harness's value encoding changes
_memory: dict[str, list[dict[str, Any]]] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def reference_outputs(
    spec: TestSpec, limits: Limits, isolation: Isolation, cache_dir: Path | None
) -> list[dict[str, Any]]:
    """One entry per case: {"value": plain expected value} or {"error": why the reference failed}."""
    key = _key(spec)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _memory:
            outputs = _read(cache_dir / f"{key}.jsonl") if cache_dir is not None else None
            if outputs is None:
                outputs, complete = _compute(spec, limits, isolation)
                if cache_dir is not None and complete:
                    write_jsonl_atomic(cache_dir / f"{key}.jsonl", outputs)
            _memory[key] = outputs
        return _memory[key]


def _key(spec: TestSpec) -> str:
    inputs = [case["input"] for case in spec.cases]
    data = pickle.dumps((CACHE_VERSION, spec.reference, spec.fn_name, inputs), protocol=4)
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> list[dict[str, Any]] | None:
    if not path.is_file():
        return None
    try:
        return [row for _, row in read_jsonl(path)]
    except CodescalerError:  # a damaged cache file is recomputed and replaced
        return None


def _compute(spec: TestSpec, limits: Limits, isolation: Isolation) -> tuple[list[dict[str, Any]], bool]:
    return program_outputs(
        spec.reference, spec.fn_name, [case["input"] for case in spec.cases], limits, isolation
    )


def program_outputs(
    code: str, fn_name: str, inputs: list[list[Any]], limits: Limits, isolation: Isolation
) -> tuple[list[dict[str, Any]], bool]:
    """What `fn_name(*args)` returns in `code` for each of `inputs`, run in one sandbox: per input
    {"value": plain value} or {"error": why}; and whether the run was complete (no timeout, nothing
    missing), so callers know whether the answer may be cached."""
    count = len(inputs)
    budget = min(limits.total_timeout_s, limits.timeout_s * (count + 1))
    job = {"mode": "call", "code": code, "fn_name": fn_name, "inputs": inputs, "timeout_s": limits.timeout_s}
    run = run_job(job, limits, budget, isolation, tests=count)
    syntax_error = run.event("syntax_error")
    if syntax_error is not None:
        return [{"error": f"the program does not compile: {syntax_error['detail']}"}] * count, True
    reports = reported(run)
    missing = unreported(run, limits)
    outputs = []
    for index in range(count):
        event = reports.get(index)
        if event is None:
            outputs.append({"error": missing.detail})
        elif event["status"] == "ok":
            outputs.append({"value": event["value"]})
        else:
            outputs.append({"error": from_report(event).detail})
    complete = len(reports) == count and not any(e["status"] == "timeout" for e in reports.values())
    return outputs, complete
