"""Running candidates at selection time, in the sandbox, under tighter limits than ground truth uses:
a selector that waits 5 s on every looping candidate would not be a selector anyone deploys."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from training.problems import Problem, TestSpec
from training.sandbox import isolation as sandbox_isolation
from training.sandbox.expected import program_outputs
from training.sandbox.limits import Limits

SELECTION_LIMITS = Limits(timeout_s=1.0, total_timeout_s=10.0)


def passed_tests(
    task_id: str, tests: Sequence[str], codes: Sequence[str], workers: int | None
) -> list[frozenset[int]]:
    """For each program, which of the assert statements `tests` it passes (each run on its own)."""
    from training.verify import verify_many

    problem = Problem(task_id, "", TestSpec(kind="asserts", asserts=tuple(tests)))
    verdicts = verify_many([(problem, code) for code in codes], SELECTION_LIMITS, workers, progress=False)
    return [frozenset(i for i, t in enumerate(v.tests) if t.status == "passed") for v in verdicts]


def outputs_on(
    fn_name: str, inputs: Sequence[Sequence[Any]], codes: Sequence[str], workers: int | None
) -> list[list[dict[str, Any]]]:
    """For each program, what `fn_name(*args)` returns on each of `inputs` ({"value"} or {"error"})."""
    isolation = sandbox_isolation.current()
    arguments = [list(args) for args in inputs]
    with ThreadPoolExecutor(max_workers=workers or None, thread_name_prefix="outputs") as pool:
        runs = pool.map(
            lambda code: program_outputs(code, fn_name, arguments, SELECTION_LIMITS, isolation), codes
        )
        return [outputs for outputs, _ in runs]
