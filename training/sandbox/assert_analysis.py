"""How each test of a `check` (HumanEval) or `asserts` (MBPP) problem is judged outside the candidate's process.

Nothing here runs code: the test text is parsed, and each assert is sorted into one of two kinds.

* A simple assert uses the program through exactly one call whose arguments do not depend on the program,
  inside an expression made of comparisons, arithmetic, `not`, indexing and a few pure built-ins
  (`abs`, `set`, `sorted`, `math.isclose`, ...): `assert candidate([1, 2], 0.3) == True`,
  `assert abs(f(3.5) - 0.5) < 1e-6`, `assert set(f(x)) == set([18, 12])`. Its call and its constants are
  evaluated once, from the test code alone, in a record run (`harness._record`, through the `__case__`
  calls this module writes in place of the asserts); the candidate is then only called with those
  arguments, and the expression is evaluated by the verifier on the plain value it returned (`assertions`).
* A scripted test (a loop, a call whose arguments depend on another call, helpers of the program) is
  recorded against the reference solution: every call it makes, with its arguments and the reference's
  results. The candidate is called with the same arguments; if its results are the reference's, it passes
  (the recorded run passed on those very values), otherwise the test code is replayed in a separate run on
  the candidate's results (`harness._judge`). A scripted test needs a reference.

A HumanEval `check` is one test, simple when every statement of its body is simple (an import, a statement
that does not mention the candidate, or a simple assert), scripted otherwise; each MBPP assert is a test.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Any

from engine.errors import CodescalerError
from training.problems import Problem

# Names a simple assert may apply to the program's result: pure functions of plain data, evaluated by the
# verifier (assertions.FUNCTIONS). Shadowed by the test code, a name no longer qualifies.
PURE_FUNCTIONS = frozenset(
    {"abs", "all", "any", "bool", "dict", "float", "frozenset", "int", "len", "list", "max", "min", "round",
     "set", "sorted", "str", "sum", "tuple", "math.isclose", "math.fabs", "math.floor", "math.ceil"}
)  # fmt: skip
# Asserts that only ask whether the result is true: the candidate's run reports bool(result), so a regex match
# object (MBPP's `assert check_str("annie")`) is judged by its truth, as the assert does.
TRUTH_ONLY = (("hole",), ("unary", "not", ("hole",)), ("call", "bool", [("hole",)], {}))
BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
UNARY = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}
COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}  # fmt: skip


@dataclass(frozen=True)
class Assertion:
    """A simple assert: `tree` is its expression with the program's result as ("hole",) and the test's own
    values as ("const", i); `fn` is the function called, `source` the assert as written."""

    case_id: int
    fn: str
    tree: Any
    source: str
    reduce: str = ""  # "truth" when the assert only asks whether the result is true (calls.Call.reduce)


@dataclass(frozen=True)
class Unit:
    """One test. `assertions` when it is simple; `scripted` otherwise, with `record` the program's
    functions to record and replay (HumanEval: the entry point). `record_source` is what the record run
    executes for an MBPP assert (simple ones as a `__case__` call)."""

    id: int
    kind: str  # "check" (the whole check function) or "assert" (one MBPP assert)
    source: str
    scripted: bool
    assertions: tuple[Assertion, ...] = ()
    record: tuple[str, ...] = ()
    record_source: str = ""


@dataclass(frozen=True)
class Analysis:
    """The tests of a problem, and the test code the record run executes (a HumanEval module with its
    simple asserts written as `__case__` calls, or MBPP's setup) and the judge executes (the original)."""

    units: tuple[Unit, ...]
    record_code: str
    judge_code: str


def analyse(problem: Problem) -> Analysis:
    if problem.tests.kind == "check":
        return _check(problem)
    return _asserts(problem)


def _check(problem: Problem) -> Analysis:
    code = problem.tests.code
    module = _parse(code, problem.task_id, "the test code")
    check = next((n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None or not check.args.args:
        raise CodescalerError(f"{problem.task_id}: the test code does not define check(candidate)")
    hole = check.args.args[0].arg
    shadowed = _bound_names(module) - {hole}
    assertions: list[Assertion] = []
    body: list[ast.stmt] = []
    for statement in check.body:
        found = None
        if isinstance(statement, ast.Assert) and _calls_of(statement.test, {hole}) == 1:
            found = _simple(statement, {hole}, shadowed, len(assertions), problem.entry_point, code)
        if found is not None:
            assertions.append(found[0])
            body.append(_case_statement(found[0], found[1], ast.Name(hole, ast.Load())))
        elif _mentions(statement, hole):  # a loop, an assignment from a call, ...: record the whole check
            unit = Unit(0, "check", code, True, record=(problem.entry_point,))
            return Analysis((unit,), code, code)
        else:
            body.append(statement)
    check.body = body or [ast.Pass()]
    unit = Unit(0, "check", code, False, tuple(assertions))
    return Analysis((unit,), ast.unparse(ast.fix_missing_locations(module)), code)


def _asserts(problem: Problem) -> Analysis:
    spec = problem.tests
    setup = _parse(spec.setup, problem.task_id, "the test setup")
    shadowed = _bound_names(setup)
    program = _program_names(problem, shadowed)
    units = []
    for index, text in enumerate(spec.asserts):
        tree = _parse(text, problem.task_id, f"assert {index + 1}")
        called = _called_names(tree)
        called = called & program if program is not None else called - set(dir(builtins)) - shadowed
        statement = tree.body[0] if len(tree.body) == 1 else None
        found = None
        if isinstance(statement, ast.Assert) and len(called) == 1 and _calls_of(statement.test, called) == 1:
            found = _simple(statement, called, shadowed, index, next(iter(called)), text)
        if found is None:
            units.append(Unit(index, "assert", text, True, record=tuple(sorted(called)), record_source=text))
        else:
            case = ast.unparse(_case_statement(found[0], found[1], ast.Constant(found[0].fn)))
            units.append(Unit(index, "assert", text, False, (found[0],), record_source=case))
    return Analysis(tuple(units), spec.setup, spec.setup)


def _parse(code: str, task_id: str, what: str) -> ast.Module:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        raise CodescalerError(f"{task_id}: {what} is not valid Python ({exc})") from exc


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the test code binds (assignments, imports, defs, parameters): such a name is not a
    built-in any more."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _program_names(problem: Problem, shadowed: set[str]) -> set[str] | None:
    """The names the program defines at its top level, read from the reference; None without one (then
    every called name that is neither a built-in nor bound by the setup is the program's)."""
    reference = problem.tests.reference
    if not reference.strip():
        return {problem.entry_point} if problem.entry_point else None
    try:
        module = ast.parse(reference)
    except (SyntaxError, ValueError):
        return None
    names = {
        n.name for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    return names - shadowed


def _called_names(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _is_call(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def _calls_of(tree: ast.AST, names: set[str]) -> int:
    return sum(_is_call(node, names) for node in ast.walk(tree))


def _mentions(tree: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


class _NotSimple(Exception):
    pass


def _simple(
    statement: ast.Assert, holes: set[str], shadowed: set[str], case_id: int, fn: str, code: str
) -> tuple[Assertion, tuple[ast.Call, list[ast.expr]]] | None:
    """The assert's tree and (its call, its constant expressions), or None when it is not simple."""
    constants: list[ast.expr] = []
    found: list[ast.Call] = []

    def shape(node: ast.expr) -> Any:
        if not any(_is_call(n, holes) for n in ast.walk(node)):
            constants.append(node)
            return ("const", len(constants) - 1)
        if _is_call(node, holes):
            assert isinstance(node, ast.Call)
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                raise _NotSimple
            found.append(node)
            return ("hole",)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE:
            op = COMPARE[type(node.ops[0])]
            if op in ("is", "is not") and not _singleton(node.left, node.comparators[0]):
                raise _NotSimple
            return ("compare", op, shape(node.left), shape(node.comparators[0]))
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return ("binary", BINARY[type(node.op)], shape(node.left), shape(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            return ("unary", UNARY[type(node.op)], shape(node.operand))
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            return ("index", shape(node.value), shape(node.slice))
        if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
            name = _function_name(node.func, shadowed)
            if name is not None and all(k.arg is not None for k in node.keywords):
                return (
                    "call",
                    name,
                    [shape(a) for a in node.args],
                    {k.arg: shape(k.value) for k in node.keywords},
                )
        raise _NotSimple

    try:
        tree = shape(statement.test)
    except _NotSimple:
        return None
    source = ast.get_source_segment(code, statement) or ast.unparse(statement)
    reduce = "truth" if tree in TRUTH_ONLY else ""
    return Assertion(case_id, fn, tree, source.strip(), reduce), (found[0], constants)


def _singleton(left: ast.expr, right: ast.expr) -> bool:
    """`is` compares identity: only against True, False or None does that mean the same for plain copies."""
    return any(isinstance(side, ast.Constant) and side.value in (True, False, None) and type(side.value) is not int
               for side in (left, right))  # fmt: skip


def _function_name(func: ast.expr, shadowed: set[str]) -> str | None:
    if isinstance(func, ast.Name) and func.id in PURE_FUNCTIONS and func.id not in shadowed:
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "math"
        and f"math.{func.attr}" in PURE_FUNCTIONS
    ):
        return f"math.{func.attr}"
    return None


def _case_statement(
    assertion: Assertion, found: tuple[ast.Call, list[ast.expr]], function: ast.expr
) -> ast.stmt:
    """`__case__(ID, function, lambda: ((args...), {kwargs}), lambda: [constants...], REDUCE)`."""
    call, constants = found
    arguments = ast.Tuple(
        [
            ast.Tuple(list(call.args), ast.Load()),
            ast.Dict([ast.Constant(k.arg) for k in call.keywords], [k.value for k in call.keywords]),
        ],
        ast.Load(),
    )
    return ast.Expr(
        ast.Call(
            ast.Name("__case__", ast.Load()),
            [
                ast.Constant(assertion.case_id),
                function,
                _thunk(arguments),
                _thunk(ast.List(list(constants), ast.Load())),
                ast.Constant(assertion.reduce),
            ],
            [],
        )
    )


def _thunk(body: ast.expr) -> ast.Lambda:
    no_arguments = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.Lambda(no_arguments, body)
