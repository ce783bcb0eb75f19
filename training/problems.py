"""Problems with tests: the one in-memory shape every loader produces and the verifier consumes.

A problem is what the policy and the reward model read (`question`) and how a complete candidate program
is checked (`tests`). Four test styles cover the datasets codescaler reads:

* `check`   HumanEval: `code` defines `check(candidate)`; it is called with the function `entry_point`.
* `asserts` MBPP: `setup` (imports) then each line of `asserts`, run against the candidate's definitions.
* `call`    MBPP+, LiveCodeBench functional, TACO `fn_name`: `fn_name(*case["input"])` must equal
            `case["output"]` (floats within `atol`). Cases may omit `output` when `reference` (a correct
            program) is given: the verifier computes the expected outputs by running it in the sandbox.
* `stdio`   LiveCodeBench / TACO / PrimeIntellect standard input: the program's stdout for `input` must
            match `output` (whitespace-insensitive per line, floats within `atol`).

`reference` is a correct program. For `call` it computes missing expected outputs; for `check` and
`asserts` it is what the verifier records the tests against (the arguments of every call, the results a
scripted test expects, the helpers a test uses): without one, only simple asserts can be verified
(training/sandbox/assert_analysis.py).

The JSONL problem schema (docs/data-formats.md) is this dataclass, one object per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TestKind = Literal["check", "asserts", "call", "stdio"]


@dataclass(frozen=True)
class TestSpec:
    __test__ = False  # not a pytest test class, despite the name
    kind: TestKind
    code: str = ""  # check: the test code defining check(candidate)
    setup: str = ""  # asserts: imports and helpers run before the asserts
    asserts: tuple[str, ...] = ()  # asserts: one assert statement per item
    fn_name: str = ""  # call: the function under test
    cases: tuple[dict[str, Any], ...] = ()  # call / stdio: {"input": ..., "output": ...}
    reference: str = ""  # a correct program (see the module docstring)
    atol: float = 0.0  # call / stdio: tolerance for floats


@dataclass(frozen=True)
class Problem:
    task_id: str
    question: str
    tests: TestSpec
    entry_point: str = ""  # check: the function HumanEval's check() receives
    source: str = ""  # where it came from: humaneval, mbppplus, a file path, a dataset name
    metadata: dict[str, Any] = field(default_factory=dict)
