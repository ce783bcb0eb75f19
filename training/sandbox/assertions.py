"""Simple asserts evaluated by the verifier: the assert's expression (test_plan.Assertion.tree) on the plain
value the candidate returned and the constants the record run read from the test code.

Everything here is a built-in operation on built-in values (decoded by `harness.decode`, so no object can
bring methods of its own), so evaluating it runs no code of the candidate's or the dataset's. The result is
what Python gives for the original assert, since the value is the same data the candidate returned.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "float": float, "frozenset": frozenset,
    "int": int, "len": len, "list": list, "max": max, "min": min, "round": round, "set": set,
    "sorted": sorted, "str": str, "sum": sum, "tuple": tuple, "math.isclose": math.isclose,
    "math.fabs": math.fabs, "math.floor": math.floor, "math.ceil": math.ceil,
}  # fmt: skip
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod,
}  # fmt: skip
UNARY: dict[str, Callable[[Any], Any]] = {"not": operator.not_, "-": operator.neg, "+": operator.pos}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
    "is": operator.is_, "is not": operator.is_not,
}  # fmt: skip
_LARGEST_PRODUCT = 1 << 24  # items a `*` may build from the candidate's value (a str or list times an int)


def holds(tree: Any, value: Any, constants: list[Any]) -> bool:
    """Whether the assert holds for `value`. Exceptions (a TypeError on a value of the wrong type, say)
    propagate, as they would from the assert."""
    return bool(evaluate(tree, value, constants))


def evaluate(tree: Any, value: Any, constants: list[Any]) -> Any:
    kind = tree[0]
    if kind == "hole":
        return value
    if kind == "const":
        return constants[tree[1]]
    if kind == "compare":
        return COMPARE[tree[1]](evaluate(tree[2], value, constants), evaluate(tree[3], value, constants))
    if kind == "binary":
        left, right = evaluate(tree[2], value, constants), evaluate(tree[3], value, constants)
        if tree[1] == "*":
            _bounded_product(left, right)
        return BINARY[tree[1]](left, right)
    if kind == "unary":
        return UNARY[tree[1]](evaluate(tree[2], value, constants))
    if kind == "index":
        return evaluate(tree[1], value, constants)[evaluate(tree[2], value, constants)]
    if kind == "call":
        args = [evaluate(arg, value, constants) for arg in tree[2]]
        kwargs = {name: evaluate(arg, value, constants) for name, arg in tree[3].items()}
        return FUNCTIONS[tree[1]](*args, **kwargs)
    raise ValueError(f"unknown assert node {kind!r}")


def _bounded_product(left: Any, right: Any) -> None:
    """`"x" * 10**12` would exhaust the verifier's memory: repetition is capped."""
    for sequence, times in ((left, right), (right, left)):
        sized = isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int)
        if sized and len(sequence) * max(times, 0) > _LARGEST_PRODUCT:
            raise MemoryError(f"the test would build a sequence of {len(sequence) * times} items")
