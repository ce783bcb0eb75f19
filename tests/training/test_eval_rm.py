"""`codescaler eval rm`: pairwise accuracy on pair files and RM-Bench's easy / normal / hard, checked
against scores computed by hand from the same scorer."""

from __future__ import annotations

import json
import subprocess

import pytest

from engine.reward.transformers_backend import TransformersScorer
from training.evaluation.rm_accuracy import bootstrap_interval, pairwise_report, rm_bench_report


class TableScorer:
    """Scores from a lookup table, to check the RM-Bench bookkeeping exactly."""

    def __init__(self, table):
        self.table = table

    def score(self, pairs):
        return [self.table[code] for _, code in pairs]


def test_rm_bench_triangles_follow_its_definition():
    # chosen styles c0 < c1 < c2 in formatting, same for rejected; scores make the matrix known
    table = {"c0": 2.0, "c1": 2.0, "c2": 3.0, "r0": 0.5, "r1": 1.5, "r2": 2.5}
    row = {"prompt": "p", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"]}
    report = rm_bench_report(TableScorer(table), [row])
    # matrix[i][j] = chosen_i > rejected_j: c0 and c1 beat r0 and r1, c2 beats all
    assert report["matrix"] == [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    assert report["normal"] == 1.0 and report["easy"] == 1.0 and report["hard"] == pytest.approx(1 / 3)


def test_pairwise_report_and_interval():
    table = {"good": 2.0, "bad": 1.0, "tie": 2.0}
    report = pairwise_report(
        TableScorer(table), [("q", "good", "bad"), ("q", "good", "tie"), ("q", "bad", "good")]
    )
    assert report["accuracy"] == pytest.approx(1 / 3)  # a tie is a miss
    low, high = bootstrap_interval([1.0] * 8 + [0.0] * 2, seed=1)
    assert 0.5 <= low <= 0.8 <= high <= 1.0


def test_eval_rm_command_on_pairs_and_rm_bench(codescaler_cli, tiny_reward, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"question_content": f"Task {i}.", "code_pos": f"x = {i}\n", "code_neg": f"y = {i} +\n"}
            for i in range(6)]  # fmt: skip
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with TransformersScorer.from_pretrained(str(tiny_reward)) as scorer:
        expected = pairwise_report(
            scorer, [(r["question_content"], r["code_pos"], r["code_neg"]) for r in rows]
        )
    out = tmp_path / "report"
    result = subprocess.run([codescaler_cli, "eval", "rm", "--reward-model", str(tiny_reward), "--data", str(pairs),
                             "--out", str(out)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "pairs" and report["pairs"] == 6
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    assert f"{expected['accuracy']:.3f}" in result.stdout and (out / "report.md").is_file()

    bench = tmp_path / "rmbench.jsonl"
    bench_rows = [{"prompt": f"Task {i}.", "domain": domain, "chosen": [f"a{i}", f"b{i}", f"c{i}"],
                   "rejected": [f"d{i}", f"e{i}", f"f{i}"]} for i, domain in enumerate(["code", "code", "chat"])]  # fmt: skip
    bench.write_text("".join(json.dumps(r) + "\n" for r in bench_rows))
    result = subprocess.run([codescaler_cli, "eval", "rm", "--reward-model", str(tiny_reward), "--data", str(bench),
                             "--out", str(out)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "rm-bench" and report["rows"] == 2  # the chat row is not code
    assert {"easy", "normal", "hard"} <= report.keys() and "RM-Bench code: easy" in result.stdout


def test_eval_rm_errors(codescaler_cli, tiny_reward, tmp_path):
    missing = subprocess.run([codescaler_cli, "eval", "rm", "--reward-model", str(tiny_reward), "--data",
                              str(tmp_path / "none.jsonl")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 1 and "none.jsonl" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question_content": "q", "code_pos": "x"}) + "\n")
    result = subprocess.run([codescaler_cli, "eval", "rm", "--reward-model", str(tiny_reward), "--data", str(bad)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "bad.jsonl:1: missing field 'code_neg'" in result.stderr
