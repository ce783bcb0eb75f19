"""The JSONL problem schema: one `Problem` per line, validated field by field.

A problems file is hand-written or converted by users, and a mistake found at verification time, hours into
a curation run, is expensive. So every field is checked on load, unknown fields are refused (a misspelt
`ouput` would otherwise silently drop the expected outputs), and each error names the file, the line and the
dotted field (`problems.jsonl:7: field 'tests.kind' must be one of check, asserts, call, stdio`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, write_jsonl_atomic
from training.problems import Problem, TestSpec

KINDS = ("check", "asserts", "call", "stdio")
_PROBLEM_FIELDS = ("task_id", "question", "tests", "entry_point", "source", "metadata")
_TEST_FIELDS = {
    "check": ("code", "reference"),
    "asserts": ("setup", "asserts", "reference"),
    "call": ("fn_name", "cases", "reference", "atol"),
    "stdio": ("cases", "atol"),
}


def read_problems_jsonl(path: Path, limit: int | None = None) -> dict[str, Problem]:
    """The problems of a JSONL file, in file order; a duplicate task_id is an error naming both lines."""
    problems: dict[str, Problem] = {}
    lines: dict[str, int] = {}
    for line, row in read_jsonl(path):
        if limit is not None and len(problems) >= limit:
            break
        problem = problem_from_row(row, f"{path}:{line}", str(path))
        if problem.task_id in lines:
            raise CodescalerError(
                f"{path}:{line}: duplicate task_id '{problem.task_id}' (first on line {lines[problem.task_id]})"
            )
        lines[problem.task_id] = line
        problems[problem.task_id] = problem
    return problems


def write_problems(path: str | Path, problems: Iterable[Problem]) -> None:
    """Write `problems` as a JSONL problems file (atomically). Tuples become JSON lists."""
    rows = []
    for problem in problems:
        row = problem_to_row(problem)
        try:
            json.dumps(row)
        except (TypeError, ValueError) as exc:
            raise CodescalerError(
                f"problem {problem.task_id}: {exc}; a JSONL problems file holds JSON values only"
            ) from exc
        rows.append(row)
    write_jsonl_atomic(path, rows)


def problem_to_row(problem: Problem) -> dict[str, Any]:
    """The JSON object for `problem`: only the fields its test kind uses, defaults left out."""
    spec = problem.tests
    tests: dict[str, Any] = {"kind": spec.kind}
    for name in _TEST_FIELDS[spec.kind]:
        value = getattr(spec, name)
        if value != getattr(TestSpec, name):
            tests[name] = list(value) if isinstance(value, tuple) else value
    row: dict[str, Any] = {"task_id": problem.task_id, "question": problem.question, "tests": tests}
    for name in ("entry_point", "source", "metadata"):
        if getattr(problem, name):
            row[name] = getattr(problem, name)
    return row


def problem_from_row(row: dict[str, Any], where: str, default_source: str) -> Problem:
    """Validate one JSON object against the schema; `where` ("file:line") prefixes every error."""
    if "question" not in row and {"problem", "tests"} <= row.keys():
        raise CodescalerError(
            f"{where}: this looks like a DeepCoder-format row ('problem', 'tests'): load the file as hf:PATH"
        )
    _known(row, _PROBLEM_FIELDS, "", where, "put extra data under 'metadata'")
    task_id = _string(row, "task_id", where, non_empty=True)
    question = _string(row, "question", where, non_empty=True)
    entry_point = _string(row, "entry_point", where, required=False)
    source = _string(row, "source", where, required=False) or default_source
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        raise CodescalerError(f"{where}: field 'metadata' must be an object, got {_type(metadata)}")
    tests = row.get("tests")
    if not isinstance(tests, dict):
        raise CodescalerError(f"{where}: field 'tests' must be an object, got {_type(tests)}")
    kind = tests.get("kind")
    if kind not in KINDS:
        raise CodescalerError(f"{where}: field 'tests.kind' must be one of {', '.join(KINDS)}")
    _known(
        tests,
        ("kind", *_TEST_FIELDS[kind]),
        "tests.",
        where,
        f"kind {kind} uses: {', '.join(_TEST_FIELDS[kind])}",
    )
    if kind == "check":
        spec = TestSpec(
            kind="check",
            code=_string(tests, "code", where, non_empty=True, prefix="tests."),
            reference=_string(tests, "reference", where, required=False, prefix="tests.") or "",
        )
        if not entry_point:
            raise CodescalerError(f"{where}: field 'entry_point' is required by tests of kind check")
    elif kind == "asserts":
        spec = _asserts(tests, where)
    else:
        spec = _cases(tests, kind, where)
    return Problem(
        task_id=task_id,
        question=question,
        tests=spec,
        entry_point=entry_point or "",
        source=source,
        metadata=metadata,
    )


def _asserts(tests: dict[str, Any], where: str) -> TestSpec:
    asserts = tests.get("asserts")
    if not isinstance(asserts, list) or not asserts:
        raise CodescalerError(f"{where}: field 'tests.asserts' must be a non-empty list of strings")
    for i, item in enumerate(asserts):
        if not isinstance(item, str) or not item.strip():
            raise CodescalerError(f"{where}: field 'tests.asserts[{i}]' must be a non-empty string")
    setup = _string(tests, "setup", where, required=False, prefix="tests.") or ""
    reference = _string(tests, "reference", where, required=False, prefix="tests.") or ""
    return TestSpec(kind="asserts", setup=setup, asserts=tuple(asserts), reference=reference)


def _cases(tests: dict[str, Any], kind: str, where: str) -> TestSpec:
    cases = tests.get("cases")
    if not isinstance(cases, list) or not cases:
        raise CodescalerError(f"{where}: field 'tests.cases' must be a non-empty list of objects")
    atol = tests.get("atol", 0.0)
    if isinstance(atol, bool) or not isinstance(atol, int | float) or not math.isfinite(atol) or atol < 0:
        raise CodescalerError(f"{where}: field 'tests.atol' must be a number >= 0")
    fn_name = reference = ""
    if kind == "call":
        fn_name = _string(tests, "fn_name", where, non_empty=True, prefix="tests.")
        reference = _string(tests, "reference", where, required=False, prefix="tests.") or ""
    for i, case in enumerate(cases):
        field = f"tests.cases[{i}]"
        if not isinstance(case, dict):
            raise CodescalerError(f"{where}: field '{field}' must be an object, got {_type(case)}")
        _known(case, ("input", "output"), f"{field}.", where, "a case has 'input' and 'output'")
        if kind == "stdio":
            for name in ("input", "output"):
                if not isinstance(case.get(name), str):
                    raise CodescalerError(
                        f"{where}: field '{field}.{name}' must be a string, got {_type(case.get(name))}"
                    )
        elif not isinstance(case.get("input"), list):
            raise CodescalerError(
                f"{where}: field '{field}.input' must be a list of arguments, got {_type(case.get('input'))}"
            )
        elif "output" not in case and not reference:
            raise CodescalerError(
                f"{where}: field '{field}.output' is missing and there is no 'tests.reference' to compute it"
            )
    return TestSpec(kind=kind, fn_name=fn_name, cases=tuple(cases), reference=reference, atol=float(atol))


def _known(obj: dict[str, Any], known: Iterable[str], prefix: str, where: str, hint: str) -> None:
    unknown = [name for name in obj if name not in known]
    if unknown:
        raise CodescalerError(f"{where}: unknown field '{prefix}{unknown[0]}' ({hint})")


def _string(
    obj: dict[str, Any],
    name: str,
    where: str,
    required: bool = True,
    non_empty: bool = False,
    prefix: str = "",
) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise CodescalerError(f"{where}: missing field '{prefix}{name}'")
        return None
    if not isinstance(value, str):
        raise CodescalerError(f"{where}: field '{prefix}{name}' must be a string, got {_type(value)}")
    if non_empty and not value.strip():
        raise CodescalerError(f"{where}: field '{prefix}{name}' is empty")
    return value


def _type(value: Any) -> str:
    """JSON's name for a value's type: users wrote JSON, not Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
