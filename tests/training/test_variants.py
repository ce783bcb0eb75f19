"""Rewrites and mutants of reference solutions: hand-written cases, then real MBPP+ solutions checked in the
sandbox (rewrites pass, mutants mostly fail)."""

from __future__ import annotations

import ast
import difflib
import textwrap

import pytest

from training.data.benchmarks import MBPPPLUS_PATH, load_mbppplus
from training.problems import Problem
from training.variants import mutants, rewrites, site_mutants
from training.verify import verify_many


def _variants(code: str, seed: int) -> list[str]:
    """Rewrites then mutants, as curation adds them."""
    return rewrites(code, seed) + mutants(code, seed)


TASKS = ["Mbpp/3", "Mbpp/6", "Mbpp/9", "Mbpp/11", "Mbpp/14"]


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


@pytest.fixture(scope="module")
def problems() -> dict[str, Problem]:
    return load_mbppplus(str(MBPPPLUS_PATH), None)


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("def f(a, b):\n    return a < b", "return a <= b"),
        ("def f(a, b):\n    return a < b", "return not a < b"),
        ("def f(a, b):\n    return a >= b", "return a > b"),
        ("def f(a, b):\n    return a != b", "return a == b"),
        ("def f(x, xs):\n    return x in xs", "return x not in xs"),
        ("def f(a, b):\n    return a + b", "return a - b"),
        ("def f(a, b):\n    return a * b", "return a + b"),
        ("def f(a, b):\n    return a // b", "return a / b"),
        ("def f(n):\n    n += 2\n    return n", "n -= 2"),
        ("def f(n):\n    return n + 3", "return n + 4"),
        ("def f(n):\n    return n + 3", "return n + 2"),
        ("def f(a, b):\n    return a and b", "return a or b"),
        ("def f(a):\n    return not a", "return a"),
        ("def f(xs):\n    return xs[1:]", "return xs[2:]"),
        ("def f(xs):\n    return xs[:-1]", "return xs[:]"),
        ("def f(xs):\n    return xs[::-1]", "return xs[:]"),
        ("def f(xs):\n    return xs[:3]", "return xs[1:3]"),
        ("def f(a, b):\n    return list(range(a, b))", "range(a, b + 1)"),
        ("def f(a, b):\n    return list(range(a, b))", "range(a + 1, b)"),
        ("def f(n):\n    return list(range(n))", "range(1, n)"),
        ("def f(n):\n    return list(range(2, n + 1))", "range(2, n + 2)"),
        ("def f(xs):\n    return min(xs)", "return max(xs)"),
        ("def f(xs):\n    return sorted(xs)", "sorted(xs, reverse=True)"),
        ("def f(xs):\n    return sorted(xs, reverse=True)", "sorted(xs, reverse=False)"),
        ("def f(xs, r):\n    return sorted(xs, reverse=r)", "sorted(xs, reverse=not r)"),
        ("def f(xs):\n    xs.sort(key=len)\n    return xs", "xs.sort(key=len, reverse=True)"),
        ("def f():\n    return True", "return False"),
    ],
)
def test_each_mutation_kind(program, expected):
    found = mutants(program, seed=0, limit=100)
    assert any(expected in mutant for mutant in found), found
    assert expected not in ast.unparse(ast.parse(program))


def test_one_mutant_per_site_in_source_order():
    program = code("""
        def f(a, b):
            return a < b
    """)
    both = ["def f(a, b):\n    return not a < b", "def f(a, b):\n    return a <= b"]  # `return` comes first
    assert mutants(program, seed=0) == both
    assert {mutants(program, seed, limit=1)[0] for seed in range(20)} == set(both)  # the seed picks the site


# every `return` returns a name and nothing is compared: its rewrites only rename
RENAMING = code("""
    import math

    LIMIT = 10

    def helper(value, scale=2):
        product = value * scale
        return product

    def f(n, items, *rest):
        total = 0
        for x in items:
            total += helper(x, scale=n) + math.floor(len(items)) + LIMIT
        try:
            total += len(rest)
        except TypeError as error:
            raise ValueError(str(error)) from error
        return total
""")


def _alpha_normal(tree: ast.AST) -> str:
    """ast.dump with variables numbered by first appearance: equal for programs equal up to renaming."""
    numbers: dict[str, str] = {}
    for node in ast.walk(tree):
        for field in ("id", "arg", "name"):
            value = getattr(node, field, None)
            if isinstance(value, str) and isinstance(node, ast.Name | ast.arg | ast.ExceptHandler):
                setattr(node, field, numbers.setdefault(value, f"v{len(numbers)}"))
    return ast.dump(tree)


def _variables(program: str) -> set[str]:
    return {
        node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg) else node.name
        for node in ast.walk(ast.parse(program))
        if isinstance(node, ast.Name | ast.arg | ast.ExceptHandler)
    }


def test_renaming_is_consistent_and_leaves_globals_builtins_attributes_and_keywords():
    renamed: set[str] = set()
    assert rewrites(RENAMING, 0)
    for seed in range(20):
        for rewrite in rewrites(RENAMING, seed):
            assert _alpha_normal(ast.parse(rewrite)) == _alpha_normal(
                ast.parse(RENAMING)
            )  # only names differ
            assert {"helper", "math", "len", "LIMIT", "str", "TypeError", "ValueError"} <= _variables(rewrite)
            assert "def helper(" in rewrite and "def f(" in rewrite and "math.floor(" in rewrite
            assert "scale=2" in rewrite and "scale=" in rewrite.split("def f(")[1]  # at the call site too
            renamed |= _variables(RENAMING) - _variables(rewrite)
    assert renamed == {
        "value",
        "product",
        "n",
        "items",
        "rest",
        "total",
        "x",
        "error",
    }  # never `scale`: passed by name


def test_renaming_avoids_names_in_use():
    program = code("""
        num = 3

        def f(n, count):
            total = n * count + num
            return total
    """)
    found = [rewrite for seed in range(20) for rewrite in rewrites(program, seed)]
    for rewrite in found:  # two names merged into one would number differently
        assert _alpha_normal(ast.parse(rewrite)) == _alpha_normal(ast.parse(program))
    assert any("def f(n_1, " in rewrite for rewrite in found)  # n's synonyms num and count are taken


def test_return_through_a_fresh_variable():
    program = code("""
        result = 1

        def f(a):
            if a:
                return a + result
            return result
    """)
    found = [rewrite for seed in range(10) for rewrite in rewrites(program, seed)]
    assert any("result_1 = a + result\n        return result_1" in rewrite for rewrite in found)
    assert all("= result\n" not in rewrite for rewrite in found)  # a bare name is returned as it is


def test_equality_operands_swapped_unless_they_call_something():
    swapped = [rewrite for seed in range(10) for rewrite in rewrites("def f(a, b):\n    return a == b", seed)]
    assert any("b == a" in rewrite for rewrite in swapped)
    assert any("not a == b" in rewrite for rewrite in rewrites("def f(a, b):\n    return a != b", 0, 10))
    calls = "def f(a, b):\n    return g(a) == h(b)"
    assert all("h(b) == g(a)" not in rewrite for seed in range(10) for rewrite in rewrites(calls, seed))


@pytest.mark.parametrize("broken", ["def f(:\n    pass", "x = (", "a = 1\x00"])
def test_unparsable_code_gives_nothing(broken):
    assert rewrites(broken, 0) == [] and mutants(broken, 0) == [] and _variants(broken, 0) == []


def test_no_sites_gives_no_variants():
    assert mutants("import os\n", 0) == [] and rewrites("import os\n", 0) == []


def test_variants_of_real_solutions_parse_are_distinct_and_deterministic(problems):
    for task_id in TASKS:
        reference = problems[task_id].tests.reference
        normal = ast.unparse(ast.parse(reference))
        found = _variants(reference, seed=7)
        assert found == _variants(reference, seed=7)
        assert len(found) == len(set(found)) and normal not in found
        assert found == list(dict.fromkeys(rewrites(reference, 7) + mutants(reference, 7)))
        assert 1 <= len(rewrites(reference, 7)) <= 3 and 1 <= len(mutants(reference, 7)) <= 6
        for variant in found:
            ast.parse(variant)
        for mutant in mutants(reference, 7):  # one changed line: one site
            changed = [
                line for line in difflib.ndiff(normal.splitlines(), mutant.splitlines()) if line[0] in "+-"
            ]
            assert len(changed) == 2, changed
    references = [problems[task_id].tests.reference for task_id in TASKS]
    assert any(_variants(reference, 0) != _variants(reference, 1) for reference in references)


@pytest.mark.slow
def test_rewrites_pass_and_mutants_mostly_fail_in_the_sandbox(problems):
    pairs, kinds = [], []
    for task_id in TASKS:
        problem = problems[task_id]
        for kind, texts in (
            ("rewrite", rewrites(problem.tests.reference, 0)),
            ("mutant", mutants(problem.tests.reference, 0)),
        ):
            pairs += [(problem, text) for text in texts]
            kinds += [kind] * len(texts)
    verdicts = list(verify_many(pairs, workers=2, progress=False))
    rewrites_passed = [
        verdict.passed for verdict, kind in zip(verdicts, kinds, strict=True) if kind == "rewrite"
    ]
    mutants_failed = [
        not verdict.passed for verdict, kind in zip(verdicts, kinds, strict=True) if kind == "mutant"
    ]
    assert len(rewrites_passed) >= 10 and all(rewrites_passed)
    assert len(mutants_failed) >= 20 and sum(mutants_failed) >= 0.7 * len(mutants_failed)


def test_site_mutants_edit_one_node_in_place_inside_the_span():
    code = (
        "def f(xs, k):\n"
        "    # a comment the edit must keep\n"
        "    total = sum(xs)  # and this one\n"
        "    for x in xs:\n"
        "        if x > k:\n"
        "            total -= x\n"
        "    return total + 1\n"
    )
    start, end = code.index("    for"), code.index("    return")
    found = site_mutants(code, start, end, seed=0, limit=10)
    assert {kind for _, kind in found} == {"compare", "arithmetic"}
    for mutant, _ in found:
        tail = len(code) - end
        assert mutant[:start] == code[:start] and mutant[len(mutant) - tail :] == code[end:]
        assert mutant != code and "# a comment the edit must keep" in mutant
        compile(mutant, "mutant", "exec")
    assert site_mutants(code, start, end, seed=0, limit=10) == found
    assert site_mutants(code, 0, 10, seed=0) == []  # no node lies inside `def f(xs,`
    assert site_mutants("def broken(:\n", 0, 12, seed=0) == []
