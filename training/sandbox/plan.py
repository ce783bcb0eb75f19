"""A problem's tests as calls to make and rules to judge their values by: built once per problem, before any
candidate runs, from the test code and the reference solution, never from a candidate.

* `call` tests: each case is one call; its expected value is the dataset's, or the reference's result
  computed in a sandbox run of the reference alone (EvalPlus does the same for MBPP+).
* `check` and `asserts` tests: the test code is analysed (assert_analysis); a record run of the reference
  and the test code yields the arguments and constants of simple asserts and the calls of scripted tests.
  Every test is checked against the reference before it is used: a simple assert the reference fails, or a
  scripted test whose replay of the reference's own results does not pass, is left out with a warning.

Plans are kept per process (one computation per problem, even with parallel workers) and, given a cache
directory, on disk as JSON under a hash of everything they are built from. Only complete plans are stored:
one that hit a timeout may come out whole on a less loaded machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import CodescalerError
from engine.jsonl import write_text_atomic
from training.problems import Problem
from training.sandbox.assert_analysis import Analysis, Unit, analyse
from training.sandbox.assertions import holds
from training.sandbox.calls import Call, run_calls, run_judge
from training.sandbox.harness import NotPlain, decode, encode
from training.sandbox.limits import Limits
from training.sandbox.runner import run_job

if TYPE_CHECKING:
    from training.sandbox.isolation import Isolation

log = logging.getLogger(__name__)
PLAN_VERSION = 2  # bump when a plan's meaning or its JSON changes
# EvalPlus's oracles that accept more than one result, as what the candidate's run reports (calls.Call).
_REDUCTIONS = {"output is not None": "not_none", "any output": "returned"}
_memory: dict[str, Plan] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@dataclass(frozen=True)
class Asserted:
    """Simple asserts, one per call of the test, in order: (tree, constants, source) each."""

    items: tuple[tuple[Any, tuple[Any, ...], str], ...]


@dataclass(frozen=True)
class Expected:
    """A call case: the value must match `value`; `case` indexes the problem's cases, `computed` says it
    came from the reference (EvalPlus's float tolerance then applies)."""

    value: Any
    case: int
    computed: bool


@dataclass(frozen=True)
class Scripted:
    """A scripted test: the unit the judge replays, and the reference's results of its calls (plain data)."""

    unit: dict[str, Any]
    reference: tuple[Any, ...]


@dataclass(frozen=True)
class Fails:
    """A test that fails whatever the program does (its own code fails, with no reference to blame)."""

    status: str
    detail: str


@dataclass(frozen=True)
class PlannedTest:
    calls: tuple[Call, ...]
    rule: Asserted | Expected | Scripted | Fails


@dataclass(frozen=True)
class Plan:
    tests: tuple[PlannedTest, ...]
    reference: str = ""  # for judging scripted tests
    judge_code: str = ""
    entry_point: str = ""

    def groups(self) -> tuple[list[Call], list[list[int]]]:
        """All calls of all tests in one list, and each test's indices into it (one timer per test)."""
        calls: list[Call] = []
        groups = []
        for test in self.tests:
            groups.append(list(range(len(calls), len(calls) + len(test.calls))))
            calls.extend(test.calls)
        return calls, groups


def test_plan(problem: Problem, limits: Limits, isolation: Isolation, cache_dir: Path | None) -> Plan:
    key = _key(problem)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _memory:
            plan = _read(cache_dir / f"{key}.json") if cache_dir is not None else None
            if plan is None:
                plan, complete = _build(problem, limits, isolation)
                if cache_dir is not None and complete:
                    write_text_atomic(cache_dir / f"{key}.json", json.dumps(_to_json(plan)))
            _memory[key] = plan
        return _memory[key]


test_plan.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name


def _key(problem: Problem) -> str:
    spec = problem.tests
    parts = [PLAN_VERSION, spec.kind, spec.code, spec.setup, list(spec.asserts), spec.fn_name, spec.reference]
    parts += [problem.entry_point, spec.atol, [_canonical_case(case) for case in spec.cases]]
    parts += [_REDUCTIONS.get(problem.metadata.get("evalplus_oracle", ""), "")]
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_case(case: dict[str, Any]) -> Any:
    try:
        return {name: encode(value) for name, value in case.items()}
    except NotPlain:
        return repr(case)


def _build(problem: Problem, limits: Limits, isolation: Isolation) -> tuple[Plan, bool]:
    if problem.tests.kind == "call":
        return _call_plan(problem, limits, isolation)
    return _recorded_plan(problem, analyse(problem), limits, isolation)


def _call_plan(problem: Problem, limits: Limits, isolation: Isolation) -> tuple[Plan, bool]:
    """One test per case; cases without `output` get the reference's result (left out, with a warning,
    where the reference fails, as EvalPlus does)."""
    spec = problem.tests
    if not spec.cases:
        raise CodescalerError(f"{problem.task_id}: the problem has no tests")
    reduce = _REDUCTIONS.get(problem.metadata.get("evalplus_oracle", ""), "")
    calls = [Call(spec.fn_name, tuple(case["input"]), {}, reduce) for case in spec.cases]
    computed, complete = None, True
    if any("output" not in case for case in spec.cases):
        if not spec.reference.strip():
            raise CodescalerError(f"{problem.task_id}: cases without 'output' need a reference solution")
        run = run_calls(spec.reference, calls, [[i] for i in range(len(calls))], limits, isolation)
        if run.syntax_error is not None:
            raise CodescalerError(f"{problem.task_id}: the reference does not compile ({run.syntax_error})")
        computed, complete = run.returned, run.complete
    tests, errors = [], []
    for index, (case, call) in enumerate(zip(spec.cases, calls, strict=True)):
        if "output" in case:
            tests.append(PlannedTest((call,), Expected(case["output"], index, False)))
        elif computed is not None and computed[index].error is None:
            tests.append(PlannedTest((call,), Expected(computed[index].value, index, True)))
        elif computed is not None and computed[index].error is not None:
            errors.append(computed[index].error.detail)  # type: ignore[union-attr]
    if errors and not tests:
        raise CodescalerError(f"{problem.task_id}: the reference solution fails on every input ({errors[0]})")
    if errors:
        log.warning(
            "%s: %d of %d inputs left out: the reference fails on them (%s)",
            problem.task_id,
            len(errors),
            len(spec.cases),
            errors[0],
        )
    return Plan(tuple(tests)), complete


def _recorded_plan(
    problem: Problem, analysis: Analysis, limits: Limits, isolation: Isolation
) -> tuple[Plan, bool]:
    reference = problem.tests.reference
    left_out: list[str] = []
    doubts: list[str] = []
    units = [u for u in analysis.units if not u.scripted or reference.strip()]
    if len(units) < len(analysis.units):
        left_out.append(f"{len(analysis.units) - len(units)} scripted test(s) need a reference solution")
    events, complete = _record(problem, analysis, units, limits, isolation)
    tests: dict[int, PlannedTest] = {}
    for unit in units:
        recorded = events.get(("recorded", unit.id))
        if recorded is not None and recorded["status"] != "ok" and not reference.strip():
            tests[unit.id] = PlannedTest((), Fails(recorded["status"], recorded["detail"]))
        elif recorded is not None and recorded["status"] != "ok":
            left_out.append(
                f"the reference fails test {unit.id + 1} ({recorded['detail'] or recorded['status']})"
            )
        elif unit.scripted:
            planned = _scripted(unit, recorded, left_out)
            if planned is not None:
                tests[unit.id] = planned
        else:
            planned = _asserted(unit, events, left_out, doubts)
            if planned is not None:
                tests[unit.id] = planned
    _keep_replayable(problem, analysis, tests, left_out, limits, isolation)
    _tell(problem, tests, left_out, doubts)
    plan = Plan(tuple(tests[u] for u in sorted(tests)), reference, analysis.judge_code, problem.entry_point)
    return plan, complete


def _keep_replayable(
    problem: Problem,
    analysis: Analysis,
    tests: dict[int, PlannedTest],
    left_out: list[str],
    limits: Limits,
    isolation: Isolation,
) -> None:
    """Replay each scripted test on the reference's own results: one that does not pass (a test that draws
    unseeded randomness, say) cannot be judged by replay and is left out."""
    scripted = {unit_id: t for unit_id, t in tests.items() if isinstance(t.rule, Scripted)}
    if not scripted:
        return
    units = [{**t.rule.unit, "replay": _replay(t, t.rule.reference)} for t in scripted.values()]  # type: ignore[union-attr]
    verdicts = run_judge(
        problem.tests.reference, analysis.judge_code, problem.entry_point, units, limits, isolation
    )
    for unit_id, planned in scripted.items():
        if verdicts[unit_id].status != "passed":
            left_out.append(f"test {unit_id + 1} does not replay the same way ({verdicts[unit_id].detail})")
            del tests[unit_id]
        else:
            log.info(
                "%s: test %d is scripted (%d calls): it is judged by replaying the test code on the program's "
                "results",
                problem.task_id,
                unit_id + 1,
                len(planned.calls),
            )


def _tell(problem: Problem, tests: dict[int, PlannedTest], left_out: list[str], doubts: list[str]) -> None:
    """Warn about what the plan leaves out or doubts; fail when no test is left."""
    if doubts:
        log.warning(
            "%s: the reference solution fails %d assert(s), kept as the test decides: %s",
            problem.task_id,
            len(doubts),
            "; ".join(doubts),
        )
    if not tests:
        reason = left_out[0] if left_out else "the problem has no tests"
        raise CodescalerError(f"{problem.task_id}: no test can be used: {reason}")
    if left_out:
        log.warning("%s: %d test part(s) left out: %s", problem.task_id, len(left_out), "; ".join(left_out))


def _record(
    problem: Problem, analysis: Analysis, units: list[Unit], limits: Limits, isolation: Isolation
) -> tuple[dict[tuple[str, int], dict[str, Any]], bool]:
    """Run the reference and the test code (never a candidate): the "case" and "recorded" reports by id."""
    job = {
        "mode": "record",
        "code": "",
        "reference": problem.tests.reference,
        "test_code": analysis.record_code,
        "entry_point": problem.entry_point,
        "units": [
            {
                "id": u.id,
                "kind": u.kind,
                "scripted": u.scripted,
                "record": list(u.record),
                "source": u.record_source,
            }
            for u in units
        ],
        "timeout_s": limits.timeout_s,
    }
    budget = min(limits.total_timeout_s, limits.timeout_s * (len(units) + 1))
    run = run_job(job, limits, budget, isolation, tests=len(units) + sum(len(u.assertions) for u in units))
    for name in (
        "syntax_error",
        "load_error",
    ):  # the record run holds no candidate code: all its reports stand
        failed = run.event(name)
        if failed is not None:
            raise CodescalerError(
                f"{problem.task_id}: the reference solution or the test code fails: {failed['detail']}"
            )
    events = {}
    for event in run.events:
        if event.get("event") == "case" and type(event.get("id")) is int:
            events.setdefault(("case", event["id"]), event)
        elif event.get("event") == "recorded" and type(event.get("unit")) is int:
            events.setdefault(("recorded", event["unit"]), event)
    complete = run.event("done") is not None and not run.timed_out
    return events, complete


def _asserted(
    unit: Unit, events: dict[tuple[str, int], dict[str, Any]], left_out: list[str], doubts: list[str]
) -> PlannedTest | None:
    """The simple asserts of a unit with their arguments and constants. An assert the reference fails
    stays (the test decides, as in MBPP+ where the asserts and the reference disagree on Mbpp/295), noted
    in `doubts`; one whose values could not be read is left out."""
    calls, items = [], []
    for assertion in unit.assertions:
        event = events.get(("case", assertion.case_id))
        try:
            if event is None or "error" in event:
                raise NotPlain(event["error"] if event else "it was not reached")
            args, kwargs = decode(event["args"])
            constants = tuple(decode(event["consts"]))
        except (NotPlain, RecursionError) as exc:
            left_out.append(f"`{assertion.source}`: {exc}")
            continue
        if "reference_error" in event:
            doubts.append(f"`{assertion.source}` ({event['reference_error']})")
        elif "output" in event and not _holds_quietly(assertion.tree, event["output"], constants):
            doubts.append(f"`{assertion.source}`")
        calls.append(Call(assertion.fn, tuple(args), kwargs, assertion.reduce))
        items.append((assertion.tree, constants, assertion.source))
    if unit.assertions and not calls:
        return None
    return PlannedTest(
        tuple(calls), Asserted(tuple(items))
    )  # no assertions: the test does not use the program


def _holds_quietly(tree: Any, encoded: Any, constants: tuple[Any, ...]) -> bool:
    try:
        return holds(tree, decode(encoded), list(constants))
    except Exception:
        return False


def _scripted(unit: Unit, recorded: dict[str, Any] | None, left_out: list[str]) -> PlannedTest | None:
    entries = recorded["calls"] if recorded is not None else None
    if not entries or any("output" not in entry for entry in entries):
        why = "it calls nothing" if entries == [] else "it expects the program to raise"
        left_out.append(f"test {unit.id + 1}: {why if entries is not None else 'it was not reached'}")
        return None
    calls = []
    for entry in entries:
        args, kwargs = decode(entry["args"])
        calls.append(Call(entry["fn"], tuple(args), kwargs))
    judged = {"id": unit.id, "kind": unit.kind, "source": unit.source, "record": list(unit.record)}
    return PlannedTest(tuple(calls), Scripted(judged, tuple(entry["output"] for entry in entries)))


def _replay(test: PlannedTest, values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [
        {"fn": call.fn, "args": encode([list(call.args), call.kwargs]), "value": value}
        for call, value in zip(test.calls, values, strict=True)
    ]


def replay_units(plan: Plan, values: dict[int, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The judge's units for the scripted tests (by index in plan.tests) with a candidate's values."""
    return [
        {**plan.tests[index].rule.unit, "replay": _replay(plan.tests[index], encoded)}  # type: ignore[union-attr]
        for index, encoded in values.items()
    ]


# ---- on disk ------------------------------------------------------------------------------------------------


def _read(path: Path) -> Plan | None:
    if not path.is_file():
        return None
    try:
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, NotPlain):  # a damaged cache file is rebuilt
        return None


def _to_json(plan: Plan) -> dict[str, Any]:
    tests = []
    for test in plan.tests:
        row: dict[str, Any] = {
            "calls": [[c.fn, encode([list(c.args), c.kwargs]), c.reduce] for c in test.calls]
        }
        rule = test.rule
        if isinstance(rule, Asserted):
            row["asserted"] = [
                [tree, encode(list(constants)), source] for tree, constants, source in rule.items
            ]
        elif isinstance(rule, Expected):
            row["expected"] = [encode(rule.value), rule.case, rule.computed]
        elif isinstance(rule, Fails):
            row["fails"] = [rule.status, rule.detail]
        else:
            row["scripted"] = [rule.unit, list(rule.reference)]
        tests.append(row)
    return {"version": PLAN_VERSION, "tests": tests, "reference": plan.reference, "judge_code": plan.judge_code,
            "entry_point": plan.entry_point}  # fmt: skip


def _from_json(data: dict[str, Any]) -> Plan:
    if data["version"] != PLAN_VERSION:
        raise ValueError("another plan version")
    tests = []
    for row in data["tests"]:
        calls = []
        for fn, encoded, reduce in row["calls"]:
            args, kwargs = decode(encoded)
            calls.append(Call(fn, tuple(args), kwargs, reduce))
        rule: Asserted | Expected | Scripted | Fails
        if "asserted" in row:
            rule = Asserted(tuple((tree, tuple(decode(c)), source) for tree, c, source in row["asserted"]))
        elif "expected" in row:
            value, case, computed = row["expected"]
            rule = Expected(decode(value), case, computed)
        elif "fails" in row:
            rule = Fails(*row["fails"])
        else:
            unit, reference = row["scripted"]
            rule = Scripted(unit, tuple(reference))
        tests.append(PlannedTest(tuple(calls), rule))
    return Plan(tuple(tests), data["reference"], data["judge_code"], data["entry_point"])
