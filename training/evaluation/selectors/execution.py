"""Running candidates at selection time, in the sandbox, under tighter limits than ground truth uses:
a selector that waits 5 s on every looping candidate would not be a selector anyone deploys."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import CodescalerError
from training.problems import Problem, TestSpec
from training.sandbox import isolation as sandbox_isolation
from training.sandbox.calls import Call, CallsRun, run_calls
from training.sandbox.limits import Limits

SELECTION_LIMITS = Limits(timeout_s=1.0, total_timeout_s=10.0)
log = logging.getLogger(__name__)


def passed_tests(
    task_id: str, tests: Sequence[str], codes: Sequence[str], workers: int | None
) -> list[frozenset[int]]:
    """For each program, which of the assert statements `tests` it passes (each run on its own)."""
    from training.verify import verify_many

    problem = Problem(task_id, "", TestSpec(kind="asserts", asserts=tuple(tests)))
    try:
        verdicts = list(
            verify_many([(problem, code) for code in codes], SELECTION_LIMITS, workers, progress=False)
        )
    except CodescalerError as exc:  # no test can be judged without a reference (each uses two results, say)
        log.warning("%s: the tests give no signal: %s", task_id, exc)
        return [frozenset()] * len(codes)
    # Indices are those of the tests that could be judged: the same for every program, so groups agree.
    return [frozenset(i for i, t in enumerate(v.tests) if t.status == "passed") for v in verdicts]


def outputs_on(
    fn_name: str, inputs: Sequence[Sequence[Any]], codes: Sequence[str], workers: int | None
) -> list[list[dict[str, Any]]]:
    """For each program, what `fn_name(*args)` returns on each of `inputs`: {"value": plain data (as
    `harness.encode` writes it)} or {"error": why}."""
    isolation = sandbox_isolation.current()
    calls = [Call(fn_name, tuple(args), {}) for args in inputs]
    groups = [[index] for index in range(len(calls))]
    with ThreadPoolExecutor(max_workers=workers or None, thread_name_prefix="outputs") as pool:
        runs = pool.map(lambda code: run_calls(code, calls, groups, SELECTION_LIMITS, isolation), codes)
        return [_outputs(run, len(calls)) for run in runs]


def _outputs(run: CallsRun, count: int) -> list[dict[str, Any]]:
    if run.syntax_error is not None:
        return [{"error": f"the program does not compile: {run.syntax_error}"}] * count
    return [{"error": r.error.detail} if r.error is not None else {"value": r.encoded} for r in run.returned]
