"""`eval repo`: cross-file tasks built from an installed package, recall that is high and honest, the
two completion arms through the engine, a report with a plot, resume, and one-line errors."""

from __future__ import annotations

import json
import re

import pytest

from engine.errors import CodescalerError
from engine.workspace.python_imports import module_aliases
from tests.test_cli import one_line_error, run
from training.evaluation.repo_eval import edit_similarity, recalled
from training.evaluation.repo_tasks import build_tasks, package_root, sample_tasks

PACKAGE = "httpx"  # pure Python, installed with codescaler, many files importing each other


def test_tasks_mask_a_cross_file_name_without_leaking_it():
    tasks, indexes = build_tasks([PACKAGE])
    assert len(tasks) > 50
    for task in sample_tasks(tasks, 25, seed=1):
        source = (task.root / task.path).read_text()
        line = source.split("\n")[int(task.task_id.rsplit(":", 1)[1]) - 1]
        assert line.rstrip().endswith(task.target) and task.target.startswith(task.symbol)
        assert source[task.cursor :].startswith(task.target)
        line_end = source.find("\n", task.cursor)
        assert task.text == source[: task.cursor] + source[line_end:]  # the rest of the line is gone
        assert any(s.path == task.defined_in for s in indexes[PACKAGE].definitions(task.symbol))
        assert task.defined_in != task.path
    assert not [t.task_id for t in tasks if t.text[: t.cursor].endswith(".")]  # not `httpcore.URL(`
    assert {t.kind for t in tasks} == {"imported name"}  # httpx imports names, not whole modules
    hits = [recalled(task, indexes[PACKAGE], 4000)[0] for task in sample_tasks(tasks, 60, seed=2)]
    assert sum(hits) / len(hits) >= 0.95  # the definition needed is found for nearly every task


def test_module_attribute_tasks_and_their_recall():
    tasks, indexes = build_tasks(["jinja2"])  # `from . import nodes as nodes` ... `nodes.Const(...)`
    attributes = [task for task in tasks if task.kind == "module attribute"]
    assert len(attributes) > 20
    index = indexes["jinja2"]
    for task in attributes:
        module = re.search(r"(\w+)\.$", task.text[: task.cursor]).group(1)  # type: ignore[union-attr]
        own = index.outline_of(task.path)
        assert module_aliases(own, task.path, index)[module] == task.defined_in
        assert any(s.path == task.defined_in and s.container is None for s in index.definitions(task.symbol))
    hits = [recalled(task, index, 4000)[0] for task in attributes]
    assert sum(hits) / len(hits) >= 0.4  # nothing typed after `nodes.`: 20 of the module's names


def test_edit_similarity():
    assert edit_similarity("abc", "abc") == 1.0 and edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "abd") == pytest.approx(2 / 3) and edit_similarity("", "xyz") == 0.0


@pytest.mark.parametrize(("name", "message"), [("json", "standard library"), ("no_such_package_here", "not installed"),
                                               ("msgspec", "compiled extensions")])  # fmt: skip
def test_packages_that_cannot_be_used(name, message):
    with pytest.raises(CodescalerError, match=message):
        package_root(name)


def test_command_end_to_end_and_resume(codescaler_cli, tiny_models, tmp_path):
    out = tmp_path / "repo"
    args = ["eval", "repo", "--packages", PACKAGE, "--limit", "3", "--out", str(out), "-n", "2",
            "--max-new-tokens", "8", "--policy", str(tiny_models["policy"]), "--reward-model",
            str(tiny_models["reward"]), "-q"]  # fmt: skip
    first = run(codescaler_cli, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("retrieval recall ") and "exact match: with context" in first.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["tasks"] == 3 and report["candidate_tasks"] > 50
    assert report["retrieval_recall_all_candidates"]["rate"] >= 0.95
    assert (out / "repo_completion.png").read_bytes()[:4] == b"\x89PNG" and "![" in (
        out / "report.md"
    ).read_text()
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all({"with_context", "without_context"} <= row.keys() for row in rows)
    again = run(codescaler_cli, *args)  # resumed: nothing left to run, the same report
    assert again.returncode == 0 and json.loads((out / "report.json").read_text())["exact"] == report["exact"]
    other = run(codescaler_cli, *[a if a != "8" else "4" for a in args])
    one_line_error(other, "use a new --out")
