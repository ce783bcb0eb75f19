"""Reward-model training on the tiny models: it learns, it saves a model every backend scores the same,
it resumes, LoRA merges, and a causal LM can be the base."""

from __future__ import annotations

import json

import pytest

from engine.reward.transformers_backend import TransformersScorer
from tests.conftest import requires_vllm
from training.reward_training import (
    PairRow,
    RewardTrainingOptions,
    pairwise_accuracy,
    split_by_question,
    train_reward_model,
)


def toy_pairs(count=40):
    """A learnable preference: the program that adds beats the one that subtracts."""
    return [
        PairRow(
            f"Write f{i}(a, b) returning the sum of a and b (case {i}).",
            f"def f{i}(a, b):\n    return a + b\n",
            f"def f{i}(a, b):\n    return a - b\n",
        )
        for i in range(count)
    ]


FAST = {"batch_size": 8, "learning_rate": 1e-3, "eval_steps": 10, "save_steps": 10, "eval_fraction": 0.25}


@pytest.fixture(scope="module")
def trained(tiny_reward, tmp_path_factory):
    out = tmp_path_factory.mktemp("rm")
    summary = train_reward_model(
        toy_pairs(), str(tiny_reward), out, RewardTrainingOptions(max_steps=30, **FAST)
    )
    return out, summary


def test_held_out_split_keeps_questions_whole():
    rows = toy_pairs(40) + toy_pairs(40)  # every question twice
    train, held = split_by_question(rows, 0.25, seed=0)
    assert held and train and not {r.question for r in train} & {r.question for r in held}


def test_training_learns_the_preference(trained, tiny_reward):
    out, summary = trained
    _, held = split_by_question(toy_pairs(), 0.25, seed=0)
    before = pairwise_accuracy(tiny_reward, held, 4096)
    assert summary["held_out_accuracy"] == 1.0 > before
    assert summary["steps"] == 30 and summary["dropped_pairs"] == 0
    assert json.loads((out / "training_summary.json").read_text())["held_out_accuracy"] == 1.0


def test_the_saved_model_is_a_reward_model_codescaler_loads(trained, codescaler_cli, tmp_path):
    import subprocess

    out, _ = trained
    candidates = tmp_path / "c.jsonl"
    candidates.write_text(
        json.dumps({"code": "def f(a, b):\n    return a + b\n"}) + "\n"
        + json.dumps({"code": "def f(a, b):\n    return a - b\n"}) + "\n"
    )  # fmt: skip
    result = subprocess.run(
        [codescaler_cli, "score", "--model", str(out), "-q", "Write f(a, b) returning the sum.", "-c",
         str(candidates), "--language", "python"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["rank"] == 1 and rows[0]["score"] > rows[1]["score"]
    assert not (out / ".saving").exists()


@requires_vllm
def test_vllm_scores_the_trained_model_like_transformers(trained):
    from engine.reward.vllm_backend import VllmScorer

    out, _ = trained
    pairs = [(row.question, code) for row in toy_pairs(4) for code in (row.chosen, row.rejected)]
    with TransformersScorer.from_pretrained(str(out)) as scorer:
        expected = scorer.score(pairs)
    scorer = VllmScorer(str(out), kv_cache_memory_bytes=64 << 20)
    try:
        got = scorer.score(pairs)
    finally:
        scorer.close()
    assert got == pytest.approx(expected, abs=1e-4)


def test_resume_continues_from_the_checkpoint(tiny_reward, tmp_path):
    options = RewardTrainingOptions(max_steps=10, **FAST)
    train_reward_model(toy_pairs(), str(tiny_reward), tmp_path, options)
    first = tmp_path / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    written = first.stat().st_mtime_ns
    resumed = RewardTrainingOptions(max_steps=20, resume=True, **FAST)
    summary = train_reward_model(toy_pairs(), str(tiny_reward), tmp_path, resumed)
    assert summary["steps"] == 20
    assert first.stat().st_mtime_ns == written  # steps 1-10 were not trained (and saved) again
    assert (tmp_path / "checkpoints" / "checkpoint-20").is_dir()


def test_lora_adapters_are_merged_and_a_causal_lm_can_be_the_base(tiny_models, tmp_path):
    options = RewardTrainingOptions(max_steps=4, lora_r=4, **FAST)
    summary = train_reward_model(toy_pairs(16), str(tiny_models["policy"]), tmp_path, options)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["Qwen3ForSequenceClassification"] and len(config["id2label"]) == 1
    assert not list(tmp_path.glob("adapter_*"))  # merged: a plain model, no PEFT files needed to load it
    with TransformersScorer.from_pretrained(str(tmp_path)) as scorer:
        assert len(scorer.score([("q", "x = 1")])) == 1
    assert summary["steps"] == 4


def test_train_rm_command(codescaler_cli, tiny_reward, tmp_path):
    import subprocess

    pairs = tmp_path / "pairs.jsonl"
    rows = [{"question_content": r.question, "code_pos": r.chosen, "code_neg": r.rejected, "margin": 0.5}
            for r in toy_pairs(16)]  # fmt: skip
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "rm"
    command = [codescaler_cli, "train-rm", "--pairs", str(pairs), "--base", str(tiny_reward), "--out", str(out),
               "--max-steps", "3", "--batch-size", "4", "--eval-fraction", "0.25"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 3 and summary["train_pairs"] + summary["held_out_pairs"] == 16
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    rows[3].pop("code_neg")
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "code_neg" in result.stderr and ":4" in result.stderr


def test_train_rm_mixes_editor_feedback_pairs_into_verified_ones(codescaler_cli, tiny_reward, tmp_path):
    import subprocess

    verified, accepted = tmp_path / "pairs.jsonl", tmp_path / "accepted.jsonl"
    verified.write_text("".join(
        json.dumps({"question_content": r.question, "code_pos": r.chosen, "code_neg": r.rejected}) + "\n"
        for r in toy_pairs(16)
    ))  # fmt: skip
    accepted.write_text("".join(
        json.dumps({"question": f"Complete the code in a.py.\n{i}", "chosen": f"x = {i}", "rejected": f"x = -{i}",
                    "kind": "feedback", "request": f"s-{i}"}) + "\n"
        for i in range(4)
    ))  # fmt: skip
    out = tmp_path / "rm"
    command = [codescaler_cli, "train-rm", "--pairs", str(verified), "--pairs", str(accepted), "--base",
               str(tiny_reward), "--out", str(out), "--max-steps", "1", "--batch-size", "4", "--eval-fraction", "0",
               "--feedback-share", "0.5"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["train_pairs"] == 32  # 16 verified + 16 feedback rows (4 pairs, repeated to half the rows)
    alone = [codescaler_cli, "train-rm", "--pairs", str(accepted), "--base", str(tiny_reward), "--out",
             str(tmp_path / "rm2"), "--max-steps", "1"]  # fmt: skip
    result = subprocess.run(alone, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "feedback pairs alone lower quality" in result.stderr
    assert not (tmp_path / "rm2").exists()
