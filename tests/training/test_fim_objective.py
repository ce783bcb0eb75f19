"""The editor objective for RL: prompts at cursors, rewards exactly as the editor scores a fill (or runs
it, for the execution baseline), and `train-policy --objective fim` measured before and after."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess

import pytest

from engine.document import Completion
from engine.editor_reward_input import editor_reward_pair
from engine.reward.model_source import load_tokenizer
from engine.reward.transformers_backend import TransformersScorer
from training.data.problems import load_problems
from training.fim_curation import reference_file
from training.fim_cursors import choose_cursors
from training.fim_objective import EditorExecutionReward, EditorReward, cursor_contexts, prompt_rows


@pytest.fixture(scope="module")
def problems():
    return load_problems("mbppplus", limit=3)


@pytest.fixture(scope="module")
def line_cursor(problems):
    """A `line` cursor of the first problem: its context and the middle the reference had there."""
    task_id, problem = next(iter(problems.items()))
    reference = reference_file(problem)
    (cursor,) = choose_cursors(reference, ("line",), 1, seed=0)
    return task_id, cursor.context(reference), cursor.middle(reference)


def columns(task_id, context, texts, stop=("<|endoftext|>", "\n"), mode="single"):
    n = len(texts)
    return {"task_id": [task_id] * n, "document": [context.text] * n, "offset": [context.offset] * n,
            "stop": [list(stop)] * n, "line_mode": [mode] * n}  # fmt: skip


def test_prompt_rows_rebuild_the_editors_view(problems, tiny_models):
    tokenizer = load_tokenizer(str(tiny_models["policy"]))
    rows = prompt_rows(problems, tokenizer, ("line", "block"), 1, seed=3)
    contexts = cursor_contexts(problems, ("line", "block"), 1, seed=3)
    assert len(rows) == len(contexts) >= len(problems)
    for row, (task_id, context) in zip(rows, contexts, strict=True):
        assert (
            row["task_id"] == task_id and row["document"] == context.text and row["offset"] == context.offset
        )
        assert context.prefix.splitlines()[-2] in row["prompt"]  # the code before the cursor is in the prompt
        assert row["line_mode"] in ("single", "multi") and ("\n" in row["stop"]) == (
            row["line_mode"] == "single"
        )


def test_editor_reward_is_the_editors_shaped_reward(line_cursor, tiny_reward):
    task_id, context, middle = line_cursor
    scorer = TransformersScorer.from_pretrained(str(tiny_reward))
    texts = [middle, middle + "\nnot part of the line (", "return (", "   ", "x = = 1"]
    right, cut, broken, empty, invalid = EditorReward(scorer).rewards(columns(task_id, context, texts), texts)
    score = scorer.score([editor_reward_pair(context, Completion(middle))])[0]
    assert right == pytest.approx(math.log1p(math.exp(score)), rel=1e-5) and right > 0
    assert cut == pytest.approx(right, rel=1e-5)  # single-line mode: the editor stops at the line end
    assert broken == empty == invalid == 0.0  # dropped or invalid: the editor shows nothing
    function = EditorReward(scorer).trl_reward_function()
    got = asyncio.run(
        function(
            [""] * 2, [middle, "x = = 1"], **{k: v[:2] for k, v in columns(task_id, context, texts).items()}
        )
    )
    assert got == pytest.approx([right, 0.0], rel=1e-5)


def test_execution_baseline_runs_the_completed_program(line_cursor, problems):
    task_id, context, middle = line_cursor
    wrong = "return None" if not middle.startswith("return None") else "return 0"
    texts = [middle, wrong, "x = = 1"]
    assert EditorExecutionReward(problems, workers=2).rewards(columns(task_id, context, texts), texts) == [
        1.0,
        0.0,
        0.0,
    ]


@pytest.mark.slow
def test_train_policy_fim_measures_held_out_cursors_before_and_after(codescaler_cli, tiny_models, tmp_path):
    out = tmp_path / "policy"
    command = [codescaler_cli, "train-policy", "--objective", "fim", "--problems", "mbppplus", "--limit", "5",
               "--held-out", "2", "--policy", str(tiny_models["policy"]), "--reward-model", str(tiny_models["reward"]),
               "--out", str(out), "--max-steps", "2", "--num-generations", "2", "--prompts-per-step", "1",
               "--max-completion-length", "8", "--spans", "line"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        summary["objective"] == "fim" and summary["steps"] == 2 and summary["prompts"] == 3
    )  # 3 train problems
    report = json.loads((out / "editor_eval.json").read_text())
    assert len(report["held_out_problems"]) == 2
    assert not set(report["held_out_problems"]) & set(load_problems("mbppplus", limit=3))  # never trained on
    for when in ("before", "after"):
        assert report[when]["samples"] == 2 * 2  # 2 held-out problems x 1 line cursor x 2 samples
        assert 0 <= report[when]["valid"]["rate"] <= 1 and report[when]["mean_reward"] >= 0
        assert f"held-out cursors, {when}: valid" in result.stderr
    refused = subprocess.run([*command[:2], "--objective", "fim", "--problems", "mbppplus", "--policy",
                              str(tiny_models["policy"]), "--out", str(out), "--engine", "ws://127.0.0.1:9"],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert refused.returncode == 1 and "--objective fim scores in process" in refused.stderr
    program = subprocess.run([*command[:2], "--problems", "mbppplus", "--policy", str(tiny_models["policy"]),
                              "--out", str(out), "--held-out", "2", "--reward", "execution"],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert program.returncode == 1 and "--held-out measures the editor objective" in program.stderr
