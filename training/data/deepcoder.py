"""DeepCoder-format rows (agentica-org/DeepCoder-Preview-Dataset) to `Problem`s.

The CodeScaler pairs were mined on DeepCoder's problems, so its three test encodings must load exactly as
its own reward code reads them (rllm's `code_reward.py`, LiveCodeBench's and TACO's `testing_util.py`):

* lcbv5: a list of `{"input", "output", "testtype": "stdin" | "functional"}`. Functional inputs hold one
  JSON value per line (one per argument) and the output one JSON value; the function name is
  `func_name` in the row's `metadata` (or in each test's own `metadata`, as rllm's preprocessing writes it).
* primeintellect: a list of `{"input", "output", "type": "stdin_stdout" | "function_call", "fn_name"}`.
* taco: `{"inputs": [...], "outputs": [...], "fn_name"?}`; with `fn_name` the tests are function calls.
* codeforces (and any list of bare `{"input", "output"}`): standard input.

The encoding is recognised from the shape of each row's `tests`, so a local copy of any config loads
without naming it. Nothing here runs code: expected outputs are data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.errors import CodescalerError
from training.problems import Problem, TestSpec

Spec = tuple[TestSpec, bool]  # the tests, and whether one-element output lists were unwrapped


def problem_from_row(row: Mapping[str, Any], task_id: str, where: str, source: str) -> Problem:
    """The `Problem` for one DeepCoder row; `where` ("dataset row 7") prefixes every error."""
    question = row.get("problem")
    if not isinstance(question, str) or not question.strip():
        raise CodescalerError(f"{where}: field 'problem' must be a non-empty string")
    tests = _decoded(row.get("tests"), where, "tests")
    metadata = _decoded(row.get("metadata") or {}, where, "metadata")
    if not isinstance(metadata, dict):
        raise CodescalerError(f"{where}: field 'metadata' must be a JSON object")
    if isinstance(tests, dict):
        encoding, spec = "taco", _taco(tests, where)
    elif isinstance(tests, list) and tests:
        if not all(isinstance(test, dict) for test in tests):
            raise CodescalerError(f"{where}: field 'tests' must be a list of JSON objects")
        if any("testtype" in test for test in tests):
            encoding, spec = "lcbv5", _lcb(tests, metadata, where)
        elif any("type" in test for test in tests):
            encoding, spec = "primeintellect", _primeintellect(tests, where)
        else:
            encoding, spec = "stdio-list", _stdio(tests, where)
    else:
        raise CodescalerError(
            f"{where}: field 'tests' must be a non-empty list of tests or a TACO {{inputs, outputs}} object"
        )
    starter = row.get("starter_code") or ""
    if not isinstance(starter, str):
        raise CodescalerError(f"{where}: field 'starter_code' must be a string")
    extra: dict[str, Any] = {"encoding": encoding}
    if starter.strip():
        extra["starter_code"] = starter
        if starter.strip() not in question:  # the name to define lives in the starter code
            question = f"{question.rstrip()}\n\nStarter code:\n```python\n{starter.rstrip()}\n```\n"
    if metadata:
        extra["dataset_metadata"] = metadata
    tests_spec, unwrapped = spec
    if unwrapped:
        extra["outputs_unwrapped"] = True
    return Problem(task_id=task_id, question=question, tests=tests_spec, source=source, metadata=extra)


def _decoded(value: Any, where: str, field: str) -> Any:
    """DeepCoder stores `tests` and `metadata` as JSON strings; copies that decoded them are accepted."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise CodescalerError(f"{where}: field '{field}' is not valid JSON ({exc.msg})") from exc


def _text(value: Any, where: str, field: str) -> str:
    """A stdin or stdout text; TACO sometimes stores it as a list of lines (joined as TACO's checker does)."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise CodescalerError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    return value


def _stdio(tests: list[dict[str, Any]], where: str) -> Spec:
    cases = tuple(
        {
            "input": _text(test.get("input"), where, f"tests[{i}].input"),
            "output": _text(test.get("output"), where, f"tests[{i}].output"),
        }
        for i, test in enumerate(tests)
    )
    return TestSpec(kind="stdio", cases=cases), False


def _one_type(tests: list[dict[str, Any]], key: str, allowed: tuple[str, str], where: str) -> str:
    kinds = {test.get(key) for test in tests}
    if len(kinds) != 1 or not kinds <= set(allowed):
        found = ", ".join(sorted(str(kind) for kind in kinds))
        raise CodescalerError(
            f"{where}: field 'tests[].{key}' must be one of {', '.join(allowed)} and the same for every "
            f"test, found {found}"
        )
    return kinds.pop()


def _lcb(tests: list[dict[str, Any]], metadata: dict[str, Any], where: str) -> Spec:
    if _one_type(tests, "testtype", ("stdin", "functional"), where) == "stdin":
        return _stdio(tests, where)
    own = tests[0].get("metadata")
    fn_name = metadata.get("func_name") or (own.get("func_name") if isinstance(own, dict) else None)
    if not isinstance(fn_name, str) or not fn_name:
        raise CodescalerError(f"{where}: functional tests need a function name in field 'metadata.func_name'")
    cases = []
    for i, test in enumerate(tests):
        text = _text(test.get("input"), where, f"tests[{i}].input")
        lines = text.strip().split("\n") if text.strip() else []
        args = [_json(line, where, f"tests[{i}].input line {n}") for n, line in enumerate(lines, start=1)]
        output = _json(_text(test.get("output"), where, f"tests[{i}].output"), where, f"tests[{i}].output")
        cases.append({"input": args, "output": output})
    return TestSpec(kind="call", fn_name=fn_name, cases=tuple(cases)), False


def _json(text: str, where: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodescalerError(f"{where}: field '{field}' is not valid JSON ({exc.msg})") from exc


def _primeintellect(tests: list[dict[str, Any]], where: str) -> Spec:
    if _one_type(tests, "type", ("stdin_stdout", "function_call"), where) == "stdin_stdout":
        return _stdio(tests, where)
    names = {test.get("fn_name") for test in tests}
    fn_name = names.pop() if len(names) == 1 else None
    if not isinstance(fn_name, str) or not fn_name:
        raise CodescalerError(f"{where}: field 'tests[].fn_name' must be one non-empty name for every test")
    inputs = [_args(test.get("input"), where, f"tests[{i}].input") for i, test in enumerate(tests)]
    return _calls(fn_name, inputs, [test.get("output") for test in tests])


def _taco(tests: dict[str, Any], where: str) -> Spec:
    inputs, outputs = tests.get("inputs"), tests.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs:
        raise CodescalerError(f"{where}: fields 'tests.inputs' and 'tests.outputs' must be non-empty lists")
    if len(inputs) != len(outputs):
        raise CodescalerError(
            f"{where}: fields 'tests.inputs' and 'tests.outputs' differ in length ({len(inputs)} vs "
            f"{len(outputs)})"
        )
    fn_name = tests.get("fn_name")
    if fn_name is None:
        return _stdio([{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)], where)
    if not isinstance(fn_name, str) or not fn_name:
        raise CodescalerError(f"{where}: field 'tests.fn_name' must be a non-empty string")
    return _calls(fn_name, [_args(x, where, f"tests.inputs[{i}]") for i, x in enumerate(inputs)], outputs)


def _args(value: Any, where: str, field: str) -> list[Any]:
    """Call arguments: a JSON list (also accepted as a JSON string holding one)."""
    if isinstance(value, str):
        value = _json(value, where, field)
    if not isinstance(value, list):
        raise CodescalerError(
            f"{where}: field '{field}' must be a list of arguments, got {type(value).__name__}"
        )
    return value


def _calls(fn_name: str, inputs: list[list[Any]], outputs: list[Any]) -> Spec:
    """APPS-lineage data (TACO, PrimeIntellect) stores each return value wrapped in a one-element list
    (`[[3], [7]]` for returns 3 and 7), but not always: its checker accepts `output` or `output[0]`. A
    `call` case has one expected value, so the outputs are unwrapped when every one of them is a
    one-element list, and kept as they are otherwise."""
    unwrap = all(isinstance(out, list) and len(out) == 1 for out in outputs)
    cases = tuple(
        {"input": args, "output": out[0] if unwrap else out}
        for args, out in zip(inputs, outputs, strict=True)
    )
    return TestSpec(kind="call", fn_name=fn_name, cases=cases), unwrap
