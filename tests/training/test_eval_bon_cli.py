"""`codescaler eval bon` end to end: a HumanEval slice with a pool sampled by the tiny policy, an MBPP+
slice with a JSONL pool (bad rows, a problem without candidates, a resumed run), and bad invocations."""

from __future__ import annotations

import json
import subprocess

import pytest

from training.data.benchmarks import MBPPPLUS_PATH
from training.data.problems import load_problems

needs_mbppplus = pytest.mark.skipif(
    not MBPPPLUS_PATH.is_file(), reason="../shared/data/MbppPlus.json missing"
)


def eval_bon(cli, *args):
    return subprocess.run([cli, "eval", "bon", "--quiet", "--workers", "2", *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_humaneval_with_a_pool_from_the_tiny_policy(codescaler_cli, tiny_models, tmp_path):
    out = tmp_path / "he"
    done = eval_bon(
        codescaler_cli, "--problems", "humaneval", "--limit", "2", "--policy", str(tiny_models["policy"]),
        "-n", "3", "--max-new-tokens", "12", "--reward-model", str(tiny_models["reward"]), "--out", str(out),
        "--selectors", "rm,rm-raw,random,first,logprob,examples,majority,codet,oracle",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert list(report["selectors"]) == ["rm", "rm-raw", "random", "first", "logprob", "examples", "majority",
                                         "codet", "oracle"]  # fmt: skip
    rows = [json.loads(line) for line in (out / "pool.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and {r["task_id"] for r in rows} == {"HumanEval/0", "HumanEval/1"}
    assert all(r["mean_logprob"] is not None for r in rows)
    for entry in report["selectors"].values():
        assert [p["n"] for p in entry["curve"]] == [1, 2, 3]
        assert entry["accuracy"] <= report["selectors"]["oracle"]["accuracy"] + 1e-9
    # the tiny policy writes no working code; the report says so instead of ranking noise
    assert report["executions"]["passed"] == 0
    assert report["findings"][0].startswith("No candidate passes")
    for name in ("report.md", "accuracy_vs_n.png", "accuracy_vs_latency.png"):
        assert (out / name).stat().st_size > 0
    assert "rm " in done.stdout and "codet" in done.stdout and "report:" in done.stdout
    # a second run with other sampling settings in the same folder is refused, not mixed in
    again = eval_bon(codescaler_cli, "--problems", "humaneval", "--limit", "2", "--policy",
                     str(tiny_models["policy"]), "-n", "4", "--out", str(out), "--selectors", "random")  # fmt: skip
    assert again.returncode != 0 and "other settings" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


@needs_mbppplus
def test_mbppplus_with_a_jsonl_pool_bad_rows_and_resume(codescaler_cli, tiny_models, tmp_path):
    problems = load_problems("mbppplus", limit=4)
    ids = list(problems)
    rows = []
    for task_id in ids[:3]:
        problem = problems[task_id]
        wrong = f"def {problem.entry_point}(*args):\n    return None\n"
        rows += [{"task_id": task_id, "code": wrong, "logprobs": [-0.1]},
                 {"task_id": task_id, "code": problem.tests.reference, "logprobs": [-2.0, -1.0]},
                 {"task_id": task_id, "response": f"```python\n{problem.tests.reference}\n# again\n```"},
                 {"task_id": task_id, "code": f"def {problem.entry_point}(*args):\n    raise ValueError\n"}]  # fmt: skip
    lines = [json.dumps(row) for row in rows]
    lines[2:2] = ['{"task_id": ', json.dumps({"task_id": "Mbpp/100000", "code": "x = 1"})]
    pool = tmp_path / "pool.jsonl"
    pool.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "mbpp"
    args = ["--problems", "mbppplus", "--limit", "4", "--pool", str(pool), "--reward-model",
            str(tiny_models["reward"]), "--out", str(out), "--seed", "3"]  # fmt: skip
    done = eval_bon(codescaler_cli, *args)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["bad_rows"]["count"] == 2
    assert [row["line"] for row in report["bad_rows"]["rows"]] == [3, 4]
    assert report["problems_without_candidates"] == [ids[3]]
    assert report["n_problems"] == 3 and report["executions"]["passed"] == 6
    assert report["skipped_selectors"] == {"codet": "no --test-policy or --policy given"}
    s = report["selectors"]
    assert list(s) == ["rm", "rm-raw", "random", "first", "logprob", "examples", "majority", "oracle"]
    assert s["random"]["accuracy"] == pytest.approx(0.5) and s["oracle"]["accuracy"] == 1.0
    assert s["first"]["accuracy"] == 0.0 and s["logprob"]["accuracy"] == 0.0  # both prefer the wrong one
    assert s["examples"]["accuracy"] == 1.0  # the MBPP assert line tells the right ones apart
    assert s["examples"]["executes"] and not s["rm"]["executes"]
    assert all(s[name]["latency_s"]["p50"] > 0 for name in ("rm", "rm-raw", "examples", "majority"))
    markdown = (out / "report.md").read_text()
    assert "line 3" in markdown and ids[3] in markdown and "![accuracy vs N]" in markdown
    # the rerun takes every verdict and selection from the caches
    again = eval_bon(codescaler_cli, *args)
    assert again.returncode == 0, again.stderr
    second = json.loads((out / "report.json").read_text())
    assert second["executions"]["cached"] == second["executions"]["programs"] == 12
    assert second["selectors"] == report["selectors"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--selectors", "random"], "give either --pool"),
        (["--pool", "POOL", "--policy", "p", "--selectors", "random"], "give either --pool"),
        (["--pool", "POOL", "--selectors", "random,best"], "unknown selector(s) best"),
        (["--pool", "POOL", "--selectors", "rm"], "the rm selector needs --reward-model"),
        (["--pool", "MISSING", "--selectors", "random"], "cannot read the pool"),
        (["--pool", "EMPTY", "--selectors", "random"], "no problem has candidates"),
    ],
)
def test_bad_invocations_fail_in_one_line(codescaler_cli, tmp_path, args, message):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"task_id": "HumanEval/0", "code": "x = 1"}) + "\n")
    (tmp_path / "empty.jsonl").write_text("\n")
    paths = {
        "POOL": str(pool),
        "MISSING": str(tmp_path / "nope.jsonl"),
        "EMPTY": str(tmp_path / "empty.jsonl"),
    }
    args = [paths.get(a, a) for a in args]
    done = eval_bon(
        codescaler_cli, "--problems", "humaneval", "--limit", "1", "--out", str(tmp_path / "o"), *args
    )
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
