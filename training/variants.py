"""Variants of a problem's reference solution, for reward-model preference pairs.

Policy samples alone give few pairs whose two sides differ by a little: here the reference solution is
rewritten in ways that keep its behaviour (passing rewrites) and given one small plausible bug each
(mutants), so the reward model learns to look at what the code does rather than at its surface. This module
only writes candidate source texts, deterministically from a seed, and never runs them: whether a rewrite
passes or a mutant fails (some are equivalent) is decided later in the sandbox (`training.verify`).

    from training.variants import mutants, rewrites
    candidates = rewrites(problem.tests.reference, seed=0) + mutants(problem.tests.reference, seed=0)

Every output is `ast.unparse`d (so reformatted, comments dropped) and differs from the unparsed original;
code that does not parse gives no variants.
"""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
import random
from collections.abc import Callable

SYNONYMS = {
    "i": ["idx", "k"], "j": ["jdx", "m"], "n": ["num", "count"], "x": ["value", "item"], "s": ["text"],
    "l": ["lst", "items"], "a": ["first"], "b": ["second"], "arr": ["array", "values"],
    "nums": ["numbers", "values"], "lst": ["items", "values"], "res": ["result", "out"],
    "result": ["res", "out"], "count": ["total", "counter"], "num": ["number", "value"],
    "text": ["string", "s"], "string": ["text"], "ans": ["answer"], "total": ["acc"],
}  # fmt: skip
DYNAMIC = {"eval", "exec", "locals", "vars"}  # functions that see local names as strings: never renamed
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.comprehension)


def rewrites(code: str, seed: int, limit: int = 3) -> list[str]:
    """Up to `limit` distinct behaviour-preserving rewrites of `code`, each 1-2 transforms chosen by seed."""
    tree = _parse(code)
    if tree is None:
        return []
    rng = random.Random(seed)
    seen = {ast.unparse(tree)}
    out: list[str] = []
    for _ in range(10 * limit):
        if len(out) >= limit:
            break
        new = copy.deepcopy(tree)
        for transform in sorted(rng.sample(REWRITES, rng.randint(1, 2)), key=REWRITES.index):
            transform(new, rng)
        text = ast.unparse(new)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def mutants(code: str, seed: int, limit: int = 6) -> list[str]:
    """Up to `limit` distinct mutants of `code`, each with one small change at one site, sites sampled by
    seed among all the sites of all the mutation kinds, in the order of their sites in the source."""
    tree = _parse(code)
    if tree is None:
        return []
    sites = [
        (index, new) for index, node in enumerate(ast.walk(tree)) for kind in MUTATIONS for new in kind(node)
    ]
    random.Random(seed).shuffle(sites)
    seen = {ast.unparse(tree)}
    chosen: list[tuple[tuple[int, int, int], str]] = []
    for index, new in sites:
        if len(chosen) >= limit:
            break
        mutant = copy.deepcopy(tree)
        target = list(ast.walk(mutant))[index]
        _Replace(target, new).visit(mutant)
        text = ast.unparse(mutant)
        if text not in seen:
            seen.add(text)
            chosen.append(((target.lineno, target.col_offset, len(chosen)), text))
    return [text for _, text in sorted(chosen)]


def site_mutants(code: str, start: int, end: int, seed: int, limit: int = 8) -> list[tuple[str, str]]:
    """(mutant, kind): up to `limit` distinct one-site mutants of `code` whose edited node lies within
    characters `start`..`end`, edited in place: only that node's text changes (to `ast.unparse` of the
    mutated node), so the rest keeps its layout, comments and docstrings. The kind names the mutation
    (compare, constant, arithmetic, boolean, slice, call). Sites are sampled by seed."""
    tree = _parse(code)
    if tree is None:
        return []
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    lines = code.splitlines(keepends=True)

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        return starts[lineno - 1] + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8", "ignore"))

    sites = []
    for node in ast.walk(tree):
        if getattr(node, "end_lineno", None) is None:
            continue
        a, b = offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)
        if start <= a and b <= end:
            sites += [(a, b, kind.__name__.strip("_"), new) for kind in MUTATIONS for new in kind(node)]
    random.Random(seed).shuffle(sites)
    seen, chosen = {code}, []
    for a, b, kind, new in sites:
        if len(chosen) >= limit:
            break
        text = code[:a] + ast.unparse(new) + code[b:]
        if text not in seen:
            seen.add(text)
            chosen.append((text, kind))
    return chosen


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


# Rewrites: each changes `tree` in place and keeps the program's behaviour.


def _rename_locals(tree: ast.Module, rng: random.Random) -> None:
    """Rename some parameters and local variables of functions, each consistently within its function."""
    used = _identifiers(tree)
    keywords = {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword)}
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    candidates = [(fn, name) for fn in functions for name in sorted(_renamable(fn, keywords))]
    chosen = [candidate for candidate in candidates if rng.random() < 0.5]
    if candidates and not chosen:
        chosen = [rng.choice(candidates)]
    for fn in functions:
        mapping = {}
        for name in (name for owner, name in chosen if owner is fn):
            options = [option for option in SYNONYMS.get(name, []) if option not in used]
            mapping[name] = rng.choice(options) if options else _fresh(name, used)
            used.add(mapping[name])
        if mapping:
            for arg in _arguments(fn):  # not their annotations: those belong to the enclosing scope
                arg.arg = mapping.get(arg.arg, arg.arg)
            renamer = _Renamer(mapping)
            for statement in fn.body:
                renamer.visit(statement)


def _renamable(fn: ast.FunctionDef | ast.AsyncFunctionDef, keywords: set[str]) -> set[str]:
    """Parameters that callers may pass by position (and never by keyword anywhere) and names assigned
    in the function's own scope; none of them declared global, bound another way, or seen by eval & co."""
    nodes = list(ast.walk(fn))
    if any(isinstance(node, ast.ClassDef | ast.Match) for node in nodes) or any(
        isinstance(node, ast.Name) and node.id in DYNAMIC for node in nodes
    ):
        return set()
    names = {arg.arg for arg in _arguments(fn)}
    by_keyword = {arg.arg for arg in fn.args.kwonlyargs} | (names & keywords)
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name is not None:
            names.add(node.name)
        if not isinstance(node, NESTED_SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    bound_otherwise = {"self", "cls"} | by_keyword
    for node in nodes[1:]:
        if isinstance(node, ast.Global | ast.Nonlocal):
            bound_otherwise.update(node.names)
        elif isinstance(node, ast.alias):
            bound_otherwise.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            bound_otherwise.add(node.name)
    return names - bound_otherwise


def _arguments(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    args = fn.args
    return [arg for arg in (*args.posonlyargs, *args.args, args.vararg, args.kwarg) if arg is not None]


class _Renamer(ast.NodeTransformer):
    """Renames variables (Name, arg, `except ... as`); attributes and keyword arguments are not names."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.mapping.get(node.arg, node.arg)
        return self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        if node.name is not None:
            node.name = self.mapping.get(node.name, node.name)
        return self.generic_visit(node)


def _swap_equality(tree: ast.Module, rng: random.Random) -> None:
    """`a == b` -> `b == a` (likewise `!=`) where neither side calls anything (evaluation order)."""
    for node in ast.walk(tree):
        if _equality(node) and not any(isinstance(sub, ast.Call) for sub in ast.walk(node)):
            node.left, node.comparators = node.comparators[0], [node.left]


def _negate_inequality(tree: ast.Module, rng: random.Random) -> None:
    """`a != b` -> `not a == b`."""

    class Negate(ast.NodeTransformer):
        def visit_Compare(self, node: ast.Compare) -> ast.expr:
            self.generic_visit(node)
            if _equality(node) and isinstance(node.ops[0], ast.NotEq):
                return ast.UnaryOp(ast.Not(), ast.Compare(node.left, [ast.Eq()], node.comparators))
            return node

    Negate().visit(tree)


def _return_via_variable(tree: ast.Module, rng: random.Random) -> None:
    """`return expr` -> `result = expr` then `return result`, with a name unused in the program."""
    name = _fresh("result", _identifiers(tree))

    class Split(ast.NodeTransformer):
        def visit_Return(self, node: ast.Return) -> ast.stmt | list[ast.stmt]:
            if node.value is None or isinstance(node.value, ast.Name):
                return node
            assign = ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], node.value), node)
            return [assign, ast.Return(ast.Name(name, ast.Load()))]

    Split().visit(tree)


Rewrite = Callable[[ast.Module, random.Random], None]
REWRITES: list[Rewrite] = [_rename_locals, _swap_equality, _negate_inequality, _return_via_variable]


def _equality(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq)
    )


def _identifiers(tree: ast.Module) -> set[str]:
    """Every name the program (or Python) already uses, over-approximated: any identifier-like string."""
    used = set(dir(builtins)) | set(keyword.kwlist)
    for node in ast.walk(tree):
        for _, value in ast.iter_fields(node):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.isidentifier():
                    used.add(item)
    return used


def _fresh(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    return next(f"{base}_{k}" for k in range(1, len(used) + 2) if f"{base}_{k}" not in used)


# Mutations: each gives the replacements of one node, one small plausible bug each.

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
                 ast.IsNot: ast.Is}  # fmt: skip
ARITHMETIC_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Div,
                    ast.Div: ast.FloorDiv}  # fmt: skip


def _with(node: ast.AST, **fields: object) -> ast.AST:
    new = copy.deepcopy(node)
    for field, value in fields.items():
        setattr(new, field, value)
    return new


def _compare(node: ast.AST) -> list[ast.AST]:
    if not isinstance(node, ast.Compare):
        return []
    ops = node.ops
    return [
        _with(node, ops=[*ops[:i], COMPARE_SWAPS[type(op)](), *ops[i + 1 :]])
        for i, op in enumerate(ops)
        if type(op) in COMPARE_SWAPS
    ]


def _constant(node: ast.AST) -> list[ast.AST]:
    """Integers off by one, booleans flipped."""
    if not isinstance(node, ast.Constant):
        return []
    if isinstance(node.value, bool):
        return [ast.Constant(not node.value)]
    if isinstance(node.value, int):
        return [ast.Constant(node.value + 1), ast.Constant(node.value - 1)]
    return []


def _arithmetic(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in ARITHMETIC_SWAPS:
        return [_with(node, op=ARITHMETIC_SWAPS[type(node.op)]())]
    return []


def _boolean(node: ast.AST) -> list[ast.AST]:
    """`and` <-> `or`, `not x` -> `x`, `return <condition>` -> `return not <condition>`."""
    if isinstance(node, ast.BoolOp):
        return [_with(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And())]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [copy.deepcopy(node.operand)]
    if isinstance(node, ast.Return) and isinstance(node.value, ast.Compare | ast.BoolOp):
        return [ast.Return(ast.UnaryOp(ast.Not(), copy.deepcopy(node.value)))]
    return []


def _slice(node: ast.AST) -> list[ast.AST]:
    """Drop one bound (`[:-1]` -> `[:]`, `[::-1]` -> `[:]`), or start an open slice at 1."""
    if not isinstance(node, ast.Slice):
        return []
    out = [
        _with(node, **{field: None})
        for field in ("lower", "upper", "step")
        if getattr(node, field) is not None
    ]
    if node.lower is None and node.step is None:
        out.append(_with(node, lower=ast.Constant(1)))
    return out


def _call(node: ast.AST) -> list[ast.AST]:
    """`sorted`/`.sort` order reversed, `range` one step longer or shorter, `min` <-> `max`."""
    if not isinstance(node, ast.Call) or any(isinstance(arg, ast.Starred) for arg in node.args):
        return []
    func, args = node.func, node.args
    if (isinstance(func, ast.Attribute) and func.attr == "sort") or _named(func, "sorted"):
        new = copy.deepcopy(node)
        reverse = next((kw for kw in new.keywords if kw.arg == "reverse"), None)
        if reverse is None:
            new.keywords.append(ast.keyword("reverse", ast.Constant(True)))
        elif isinstance(reverse.value, ast.Constant):
            reverse.value = ast.Constant(not reverse.value.value)
        else:
            reverse.value = ast.UnaryOp(ast.Not(), reverse.value)
        return [new]
    if _named(func, "range") and len(args) in (1, 2) and not node.keywords:
        start = _plus_one(args[0]) if len(args) == 2 else ast.Constant(1)
        return [
            _with(node, args=[*copy.deepcopy(args[:-1]), _plus_one(args[-1])]),
            _with(node, args=[start, copy.deepcopy(args[-1])]),
        ]
    if _named(func, "min") or _named(func, "max"):
        return [_with(node, func=ast.Name("max" if _named(func, "min") else "min", ast.Load()))]
    return []


def _named(func: ast.expr, name: str) -> bool:
    return isinstance(func, ast.Name) and func.id == name


def _plus_one(expr: ast.expr) -> ast.expr:
    """`expr + 1`, folded into an integer constant: `2` -> `3`, `n + 1` -> `n + 2`."""
    if _is_int(expr):
        return ast.Constant(expr.value + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add) and _is_int(expr.right):
        return _with(expr, right=_plus_one(expr.right))
    return ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.Constant(1))


def _is_int(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and type(expr.value) is int


MUTATIONS: list[Callable[[ast.AST], list[ast.AST]]] = [
    _compare,
    _constant,
    _arithmetic,
    _boolean,
    _slice,
    _call,
]


class _Replace(ast.NodeTransformer):
    """Replaces one node (found by identity) with another."""

    def __init__(self, target: ast.AST, new: ast.AST) -> None:
        self.target, self.new = target, new

    def visit(self, node: ast.AST) -> ast.AST:
        return self.new if node is self.target else self.generic_visit(node)
