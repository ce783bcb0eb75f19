"""`codescaler verify`, run as a user runs it."""

import json
import subprocess

import pytest

from training.data import write_problems
from training.problems import Problem
from training.problems import TestSpec as Spec  # not Test*: pytest would try to collect it

PROBLEMS = [
    Problem(
        "add", "Add two numbers.", Spec(kind="call", fn_name="add", cases=({"input": [1, 2], "output": 3},))
    ),
    Problem("echo", "Print the input.", Spec(kind="stdio", cases=({"input": "hi\n", "output": "hi\n"},))),
]


def run(cli, *args):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def problems_file(tmp_path):
    path = tmp_path / "problems.jsonl"
    write_problems(path, PROBLEMS)
    return path


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_verify_writes_one_row_per_candidate_in_order(codescaler_cli, problems_file, tmp_path):
    candidates = write_lines(
        tmp_path / "candidates.jsonl",
        [
            json.dumps({"task_id": "echo", "code": "print(input())"}),
            json.dumps({"task_id": "add", "code": "def add(a, b):\n    return a - b"}),
            json.dumps({"task_id": "add", "code": "def add(a, b):\n    return a + b"}),
            json.dumps({"task_id": "add", "code": "while True: pass"}),
        ],
    )
    out = tmp_path / "out" / "verdicts.jsonl"
    result = run(
        codescaler_cli,
        "verify",
        "-p",
        str(problems_file),
        "-c",
        str(candidates),
        "-o",
        str(out),
        "--workers",
        "2",
        "--timeout",
        "1",
        "--limit",
        "3",
        "--no-cache",
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["task_id"], r["status"]) for r in rows] == [
        ("echo", "passed"),
        ("add", "wrong_answer"),
        ("add", "passed"),
    ]
    assert rows[1]["detail"] == "test 1: add(1, 2) returned -1, expected 3"
    assert rows[0]["passed"] is True and rows[0]["tests"][0]["status"] == "passed"
    assert "2 of 3 candidates passed" in result.stderr
    quiet = run(
        codescaler_cli, "verify", "-p", str(problems_file), "-c", str(candidates), "--limit", "1", "-q"
    )
    assert quiet.returncode == 0 and json.loads(quiet.stdout)["status"] == "passed"
    assert "candidates passed" not in quiet.stderr


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"task_id": "nope", "code": "x"}'], "candidates.jsonl:1: field 'task_id': unknown task 'nope'"),
        (
            ['{"task_id": "add", "code": "x"}', '{"task_id": "add"}'],
            "candidates.jsonl:2: missing field 'code'",
        ),
        (['{"task_id": "add", "code": 3}'], "candidates.jsonl:1: field 'code' must be a string, got int"),
        (["", "{not json"], "candidates.jsonl:2: invalid JSON"),
        ([], "candidates.jsonl: no candidates (the file is empty)"),
    ],
)
def test_bad_candidates_give_one_line_and_exit_1(codescaler_cli, problems_file, tmp_path, lines, message):
    candidates = write_lines(tmp_path / "candidates.jsonl", lines)
    result = run(codescaler_cli, "verify", "-p", str(problems_file), "-c", str(candidates))
    assert result.returncode == 1
    assert result.stderr.startswith("codescaler: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
