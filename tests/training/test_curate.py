"""Curation: pairs from verified samples, deduplicated and capped, with provenance; resumable after a
kill with nothing lost or doubled; the command end to end with the tiny policy."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.reward.model_source import load_tokenizer
from training.curation import CurationOptions, curate
from training.data.pairs import read_pairs
from training.data.problems import load_problems
from training.sampling import SamplingSettings
from training.verify import verify_many

from .scripted_policy import ScriptedPolicy, humaneval_answers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def problems():
    return load_problems("humaneval", limit=3)


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    return load_tokenizer(str(tiny_models["policy"]))


def test_pairs_pass_against_fail_deduplicated_capped_with_provenance(problems, tokenizer, tmp_path):
    policy = ScriptedPolicy(tokenizer, humaneval_answers(problems))
    out = tmp_path / "pairs.jsonl"
    summary = curate(problems, policy, out, CurationOptions(SamplingSettings(n=5), max_pairs_per_problem=3, workers=2),
                     policy_name="scripted", progress=False)  # fmt: skip
    pairs = read_pairs(out)
    assert summary.candidates == 15 and summary.extracted == 15 and summary.passed == 9
    assert summary.pairs_written == len(pairs) == 9  # 3 per problem: the cap
    for pair in pairs:
        assert "return None" in pair.code_neg or "raise ValueError" in pair.code_neg
        assert "return None" not in pair.code_pos and "nope" not in pair.code_pos
        assert pair.provenance["policy"] == "scripted" and pair.provenance["sampling"]["n"] == 5
        assert pair.provenance["pos_status"] == "passed" and pair.provenance["neg_status"] != "passed"
    # the commented copy of the canonical solution is the same program: at most 2 distinct positives
    for task_id in problems:
        positives = {p.code_pos for p in pairs if p.provenance["task_id"] == task_id}
        assert len(positives) <= 2


RUN = """
import sys, json
sys.path.insert(0, {root!r})
from pathlib import Path
from engine.reward.model_source import load_tokenizer
from training.curation import CurationOptions, curate
from training.data.problems import load_problems
from training.sampling import SamplingSettings
from tests.training.scripted_policy import ScriptedPolicy, humaneval_answers
problems = load_problems("humaneval", limit=4)
policy = ScriptedPolicy(load_tokenizer({tokenizer!r}), humaneval_answers(problems), delay_s={delay})
curate(problems, policy, Path({out!r}), CurationOptions(SamplingSettings(n=5), max_pairs_per_problem=4), progress=False)
"""


def run_curation(out, tiny_models, delay):
    code = RUN.format(root=str(ROOT), tokenizer=str(tiny_models["policy"]), out=str(out), delay=delay)
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_a_killed_run_resumes_without_losing_or_doubling_rows(tiny_models, tmp_path):
    reference = tmp_path / "whole.jsonl"
    assert run_curation(reference, tiny_models, 0).wait(300) == 0
    out = tmp_path / "resumed.jsonl"
    process = run_curation(out, tiny_models, 1.0)
    done = out.with_name(out.name + ".done")
    deadline = time.monotonic() + 120
    while not (done.exists() and done.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # mid-run: two problems done, the third in progress
    process.wait()
    with out.open("ab") as handle:  # and as if the kill had torn a line in half
        handle.write(b'{"question_content": "half a li')
    finished_before = done.read_text().split()
    assert 2 <= len(finished_before) < 4
    assert run_curation(out, tiny_models, 0).wait(300) == 0
    keys = [pair.key() for pair in read_pairs(out)]
    assert len(keys) == len(set(keys))  # nothing doubled
    assert set(keys) == {pair.key() for pair in read_pairs(reference)}  # nothing lost
    assert sorted(done.read_text().split()) == sorted(load_problems("humaneval", limit=4))


def test_curate_command_with_the_tiny_policy(codescaler_cli, tiny_models, tmp_path):
    out = tmp_path / "pairs.parquet"
    command = [codescaler_cli, "curate", "--problems", "humaneval", "--limit", "2", "--policy",
               str(tiny_models["policy"]), "-n", "2", "--max-new-tokens", "8", "--out", str(out), "-q"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["problems"] == 2 and summary["candidates"] == 4
    assert summary["pairs_written"] == 0  # random tokens never hold one fenced block of working code
    assert out.is_file() and read_pairs(out) == []
    again = json.loads(
        subprocess.run(command, capture_output=True, text=True, timeout=600).stdout.splitlines()[-1]
    )
    assert again["skipped_done"] == 2 and again["candidates"] == 0
    other = subprocess.run([*command, "--variants"], capture_output=True, text=True, timeout=600)
    assert other.returncode == 1 and other.stderr.strip().splitlines() == [
        f"codescaler: error: {out} holds a run with other settings (variants False -> True): use a new --out, "
        "or the same settings to resume it"
    ]
    bad = subprocess.run([*command[:-3], "-n", "1", "--out", str(tmp_path / "x.jsonl")], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 1 and "-n must be at least 2" in bad.stderr


def test_variants_join_the_samples_and_the_sandbox_decides_their_side(tokenizer, tmp_path):
    mbpp = load_problems("mbppplus", limit=3)
    wrong = {problem.question: ["def nothing():\n    return None"] for problem in mbpp.values()}
    policy = ScriptedPolicy(tokenizer, wrong)
    out = tmp_path / "pairs.jsonl"
    options = CurationOptions(SamplingSettings(n=2), max_pairs_per_problem=20, workers=2, variants=True)
    summary = curate(mbpp, policy, out, options, policy_name="scripted", progress=False)
    pairs = read_pairs(out)
    assert summary.candidates == 6 and summary.passed == 0  # the policy's program fails everywhere
    assert summary.variants > 3 * 3 and 3 <= summary.variants_passed < summary.variants
    assert summary.pass_rate == 0.0
    origins = {(p.provenance["pos_origin"], p.provenance["neg_origin"]) for p in pairs}
    assert ("reference", "policy") in origins and ("reference", "mutant") in origins
    assert all(p.provenance["pos_origin"] != "policy" for p in pairs)
    # Every side is what the sandbox said, whatever the variant was meant to be.
    checks = [(mbpp[p.provenance["task_id"]], code) for p in pairs for code in (p.code_pos, p.code_neg)]
    verdicts = list(verify_many(checks, workers=2, progress=False))
    assert [v.passed for v in verdicts] == [True, False] * len(pairs)
    # The reference joins in the variants' layout, so layout never tells the two sides apart.
    references = {ast.unparse(ast.parse(p.tests.reference)) for p in mbpp.values()}
    assert references <= {p.code_pos for p in pairs}
    assert all(ast.unparse(ast.parse(code)) == code for p in pairs if p.provenance["neg_origin"] == "mutant"
               for code in (p.code_pos, p.code_neg))  # fmt: skip
