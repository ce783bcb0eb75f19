"""`curate --fim`: cursors cut where an editor user stands, fills made by the real bundled policy through
the editor's path, labels the sandbox confirms, rows the reward model reads exactly as the editor builds
them, and a run that resumes after a kill with nothing lost or doubled."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.document import Completion
from engine.editor_reward_input import editor_reward_pair
from training.data.pairs import EDITOR_FIELDS, read_pairs
from training.data.problems import load_problems
from training.fim_curation import reference_file
from training.fim_cursors import Cursor, candidate_cursors, choose_cursors
from training.verify import verify_many

PROGRAM = '''def clipped_total(xs, k):
    """Sum of xs, leaving out values above k."""
    total = sum(xs)
    for x in xs:
        if x > k:
            total -= x
    return total
'''


def test_cursors_stand_where_an_editor_user_would():
    found = candidate_cursors(PROGRAM)
    assert {kind: len(cursors) for kind, cursors in found.items() if not cursors} == {}
    for cursor in (c for cursors in found.values() for c in cursors):
        context = cursor.context(PROGRAM)
        assert context.prefix + cursor.middle(PROGRAM) + context.suffix == PROGRAM
        assert "def " not in cursor.middle(PROGRAM) and '"""' not in cursor.middle(PROGRAM)
        assert context.suffix == "" or context.suffix.startswith("\n")  # a middle runs to its line's end
    lines = {cursor.middle(PROGRAM) for cursor in found["line"]}
    assert lines == {"total = sum(xs)", "total -= x", "return total"}
    for cursor in found["line"] + found["block"]:  # the line keeps its indentation: the cursor is after it
        line_start = PROGRAM.rfind("\n", 0, cursor.start) + 1
        assert PROGRAM[line_start : cursor.start].strip() == "" and cursor.start > line_start
    assert {cursor.middle(PROGRAM).split()[0] for cursor in found["block"]} == {"for", "if"}
    assert all("\n" in cursor.middle(PROGRAM) for cursor in found["block"])
    partial = {cursor.middle(PROGRAM) for cursor in found["partial"]}
    assert {"sum(xs)", "xs)", "total", "x"} <= partial and "total = sum(xs)" not in partial
    assert choose_cursors(PROGRAM, ("line", "block"), 1, seed=5) == choose_cursors(
        PROGRAM, ("line", "block"), 1, 5
    )
    assert [c.span_kind for c in choose_cursors(PROGRAM, ("line", "block"), 1, 5)] == ["line", "block"]
    assert candidate_cursors("def broken(:\n") == {"line": [], "partial": [], "block": []}
    lambdas = "def f(xs):\n    key = lambda x: x if x else 0\n    return sorted(xs, key=key)\n"
    assert {c.middle(lambdas) for c in candidate_cursors(lambdas)["line"]} == {
        "key = lambda x: x if x else 0", "return sorted(xs, key=key)"}  # fmt: skip


def _curate(cli: str, out: Path, *extra: str, limit: int = 3) -> subprocess.CompletedProcess:
    command = [cli, "curate", "--fim", "--problems", "mbppplus", "--policy", "bundled", "-n", "4",
               "--limit", str(limit), "--variants", "--workers", "2", "-q", "--out", str(out), *extra]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )


@pytest.fixture(scope="module")
def curated(codescaler_cli, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("fim") / "pairs.jsonl"
    result = _curate(codescaler_cli, out)
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_labels_hold_in_the_sandbox_and_rows_are_what_the_editor_scores(curated):
    out, summary = curated
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and summary["pairs_written"] == len(rows)
    assert summary["fills_sampled"] == 4 * sum(summary["cursors"].values())
    assert summary["fills_valid"] <= summary["fills_kept"] <= summary["fills_sampled"]
    problems = load_problems("mbppplus", limit=3)
    checks = []
    for row in rows:
        assert set(EDITOR_FIELDS) <= set(row) and row["kind"] == "fim"
        problem = problems[row["task_id"]]
        reference = reference_file(problem)
        assert reference.startswith("# ") and ast.unparse(ast.parse(problem.tests.reference)) in reference
        context = Cursor(row["span_kind"], row["start"], row["end"]).context(reference)
        for side in ("chosen", "rejected"):
            completion = Completion(row[f"{side}_fill"], row[f"{side}_replace_chars"])
            assert completion.applied_to(context) == row[f"{side}_program"]
            assert editor_reward_pair(context, completion) == (row["question"], row[side])
            checks += [(problem, row[f"{side}_program"])]
    verdicts = list(verify_many(checks, workers=2, progress=False))  # re-run every labelled program
    assert all(v.passed for v in verdicts[0::2]) and not any(v.passed for v in verdicts[1::2])
    by_span = {kind: sum(row["span_kind"] == kind for row in rows) for kind in summary["pairs_by_span"]}
    assert by_span == summary["pairs_by_span"] and sum(by_span.values()) == len(rows)
    origins = {f"{row['chosen_origin']}>{row['rejected_origin']}" for row in rows}
    assert origins == set(summary["pairs_by_origin"]) and "reference>mutant" in origins
    assert {pair.names for pair in read_pairs(out)} == {EDITOR_FIELDS}  # train-rm reads them as they are


@pytest.mark.slow
def test_a_finished_run_is_not_redone_and_other_settings_are_refused(curated, codescaler_cli):
    out, _ = curated
    again = _curate(codescaler_cli, out)
    assert again.returncode == 0, again.stderr
    repeated = json.loads(again.stdout.strip().splitlines()[-1])
    assert repeated["skipped_done"] == 3 and repeated["pairs_written"] == 0
    other = _curate(codescaler_cli, out, "--spans", "line")
    assert other.returncode == 1 and other.stderr.count("\n") == 1 and "spans" in other.stderr
    bad = _curate(codescaler_cli, out.with_name("other.jsonl"), "--spans", "line,word")
    assert bad.returncode == 1 and "unknown --spans word" in bad.stderr


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_doubling_rows(curated, codescaler_cli, tmp_path):
    whole, _ = curated
    out = tmp_path / "resumed.jsonl"
    command = [codescaler_cli, "curate", "--fim", "--problems", "mbppplus", "--policy", "bundled", "-n", "4",
               "--limit", "3", "--variants", "--workers", "2", "-q", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    done = out.with_name(out.name + ".done")
    deadline = time.monotonic() + 300
    while not (done.exists() and done.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # one problem done, the next in progress
    process.wait()
    with out.open("ab") as handle:  # and as if the kill had torn a line in half
        handle.write(b'{"question": "half a li')
    assert 1 <= len(done.read_text().split()) < 3
    resumed = _curate(codescaler_cli, out)
    assert resumed.returncode == 0, resumed.stderr
    keys = [pair.key() for pair in read_pairs(out)]
    assert len(keys) == len(set(keys))  # nothing doubled
    assert set(keys) == {pair.key() for pair in read_pairs(whole)}  # nothing lost: sampling is seeded


@pytest.mark.slow
def test_train_rm_takes_completion_pairs_mixed_with_program_pairs(
    curated, codescaler_cli, tiny_reward, tmp_path
):
    out, summary = curated
    programs = tmp_path / "programs.jsonl"
    programs.write_text("".join(json.dumps({"question_content": f"Return {i}.", "code_pos": f"def f():\n    return {i}",
                                            "code_neg": f"def f():\n    return {i + 1}"}) + "\n" for i in range(8)))  # fmt: skip
    command = [codescaler_cli, "train-rm", "--pairs", str(out), "--pairs", str(programs), "--completion-share", "0.5",
               "--base", str(tiny_reward), "--out", str(tmp_path / "rm"), "--max-steps", "2", "--batch-size", "4"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    trained = json.loads(result.stdout.strip().splitlines()[-1])
    # both kinds at one share: as many rows again as the completion pairs, or as the program pairs
    assert trained["train_pairs"] + trained["held_out_pairs"] == 2 * max(summary["pairs_written"], 8)
