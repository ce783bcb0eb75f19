"""`codescaler models build-default`: every stage on a smoke-sized configuration, resumption, and the
cards' numbers against what the build wrote."""

import json
import subprocess
import sys

import pytest
import torch

from engine.generation.base import SamplingOptions, load_generator
from engine.reward.scorer import load_scorer
from tests.test_cli import one_line_error
from training.data.pairs import read_pairs
from training.default_models import lm_pretraining
from training.default_models.build import held_out
from training.default_models.lm_pretraining import PretrainOptions, pretrain


def run(*args):
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "models"
    result = run("models", "build-default", str(out), "--config", "smoke", "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_the_built_models_load_and_run_in_the_engine(build):
    with load_generator(str(build / "policy")) as generator:
        samples = generator.generate("def add(a, b):\n", SamplingOptions(2, 8, 0.8, 0.95, (), 1))
    assert len(samples) == 2 and all(sample.logprobs for sample in samples)
    with load_scorer(str(build / "reward")) as scorer:
        scores = scorer.score([("Add two numbers.", "def add(a, b):\n    return a + b")])
    assert len(scores) == 1 and scores[0] == scores[0]  # a number, not NaN
    for role in ("policy", "reward"):
        weights = build / role / "model.safetensors"
        from safetensors import safe_open

        with safe_open(str(weights), "pt") as tensors:
            assert {tensors.get_tensor(k).dtype for k in tensors.keys()}  # noqa: SIM118 (safe_open has no __iter__) == {torch.bfloat16}


def test_held_out_problems_stay_out_of_training_and_pairs_are_verified_variants(build):
    train = read_pairs(build / "work" / "pairs.train.jsonl")
    held = read_pairs(build / "work" / "pairs.heldout.jsonl")
    assert train and held
    assert all(not held_out(p.provenance["task_id"], 0.34, 0) for p in train)
    assert all(held_out(p.provenance["task_id"], 0.34, 0) for p in held)
    for pair in train + held:
        assert pair.provenance["pos_status"] == "passed" and pair.provenance["neg_status"] != "passed"
        assert pair.provenance["pos_origin"] in {"policy", "reference", "rewrite"}
    assert any(p.provenance["neg_origin"] == "mutant" for p in train)
    fim_train = read_pairs(build / "work" / "fim_pairs.train.jsonl")
    fim_held = read_pairs(build / "work" / "fim_pairs.heldout.jsonl")
    assert fim_train and all(not held_out(p.provenance["task_id"], 0.34, 0) for p in fim_train)
    assert all(held_out(p.provenance["task_id"], 0.34, 0) for p in fim_held)
    corpus = json.loads((build / "work" / "corpus.json").read_text())
    assert corpus["license"] == "PSF-2.0" and all(len(f["sha256"]) == 64 for f in corpus["files"])
    assert not any("humaneval" in f["path"].lower() for f in corpus["files"])


def test_cards_report_what_the_build_measured(build):
    record = json.loads((build / "build.json").read_text())
    stages = record["stages"]
    policy_card = (build / "policy" / "README.md").read_text()
    reward_card = (build / "reward" / "README.md").read_text()
    from safetensors.torch import load_file

    parameters = sum(t.numel() for name, t in load_file(build / "policy" / "model.safetensors").items())
    assert parameters == stages["policy"]["parameters"]
    assert f"{parameters:,} parameters" in policy_card
    accuracy = stages["evaluation"]["runs"]["rm"]["report"]["accuracy"]
    assert f"| {100 * accuracy:.1f}%" in reward_card
    rerun = stages["evaluation"]["runs"]["rm"]["argv"]
    assert "codescaler " + " ".join(rerun) in reward_card
    assert "codescaler models build-default OUT --config smoke --seed 0" in policy_card
    # completion pairs went into the reward model, RL with it tuned the policy, both are in the cards
    assert (
        stages["fim_pairs"]["train_pairs"] + stages["fim_pairs"]["heldout_pairs"]
        == stages["fim_pairs"]["pairs_written"]
    )
    assert (
        stages["reward"]["rows_by_kind"]["completion"] > 0 and stages["reward"]["rows_by_kind"]["program"] > 0
    )
    assert f"{stages['fim_pairs']['train_pairs']} training pairs" in reward_card
    rl = stages["policy_rl"]
    assert rl["steps"] == 2 and rl["before"]["samples"] == rl["after"]["samples"] > 0
    assert "RL (editor objective)" in policy_card and "before → after RL" in policy_card
    shipped = "policy-rl" if rl["shipped"] == "tuned" else "policy-pretrained"
    from safetensors.torch import load_file as weights

    built, kept = (
        weights(build / "policy" / "model.safetensors"),
        weights(build / "work" / shipped / "model.safetensors"),
    )
    assert all(
        torch.equal(built[name], kept[name].to(built[name].dtype)) for name in kept
    )  # the one the gate chose
    assert f"Shipped: the {rl['shipped']} policy" in policy_card and rl["why"] in policy_card
    assert (
        "rm-fim" in stages["evaluation"]["runs"] and "HumanEval single-line infilling: logprob" in policy_card
    )
    # The eval command in the card gives the number in the card.
    again = run(*rerun[:-2], "--out", str(build / "rerun"))
    assert again.returncode == 0, again.stderr
    assert json.loads((build / "rerun" / "report.json").read_text())["accuracy"] == accuracy


def test_a_rerun_resumes_and_other_settings_are_refused(build):
    stages_file = build / "work" / "stages.json"
    stages = json.loads(stages_file.read_text())
    weights = (build / "reward" / "model.safetensors").read_bytes()
    del stages["reward"], stages["evaluation"]
    stages_file.write_text(json.dumps(stages))
    result = run("models", "build-default", str(build), "--config", "smoke", "--quiet", "--no-evaluate")
    assert result.returncode == 0, result.stderr
    assert "stage policy: done in an earlier run" in result.stderr
    assert "stage pairs: done in an earlier run" in result.stderr
    assert "stage policy_rl: done in an earlier run" in result.stderr
    assert (build / "reward" / "model.safetensors").read_bytes() == weights  # seeded: the same model
    assert "Not measured in this build" in (build / "reward" / "README.md").read_text()
    one_line_error(run("models", "build-default", str(build), "--config", "smoke", "--seed", "1"), "seed")
    one_line_error(run("models", "build-default", str(build), "--config", "huge"), "unknown --config")


def test_pretraining_killed_midway_resumes_to_the_same_weights(tmp_path, monkeypatch):
    from transformers import Qwen3Config

    torch.manual_seed(0)
    rows = torch.randint(0, 64, (12, 16))
    config = Qwen3Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16)  # fmt: skip
    options = PretrainOptions(steps=6, window=16, batch_size=2, warmup_steps=2, checkpoint_steps=2)
    straight, summary = pretrain(rows, config, options, tmp_path / "a.ckpt", progress=False)

    class Killed(Exception):
        pass

    class Bar:
        def __init__(self, *args, **kwargs):
            self.count = 0

        def update(self, count=1):
            self.count += count
            if self.count == 5:
                raise Killed

        def close(self):
            pass

    with monkeypatch.context() as patch:
        patch.setattr(lm_pretraining, "ProgressBar", Bar)
        with pytest.raises(Killed):
            pretrain(rows, config, options, tmp_path / "b.ckpt", progress=False)
    assert torch.load(tmp_path / "b.ckpt", weights_only=False)["step"] == 4
    resumed, again = pretrain(rows, config, options, tmp_path / "b.ckpt", progress=False)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert again["final_loss"] == summary["final_loss"] and again["steps"] == 6


def test_the_tuned_policy_ships_only_when_it_gains_without_losing_valid_fills():
    from training.default_models.build import ship_tuned

    def report(valid, low, high, reward, passed=(0.0, 0.0, 0.0)):
        return {"valid": {"rate": valid, "interval": [low, high]}, "mean_reward": reward,
                "pass": {"rate": passed[0], "interval": list(passed[1:])}}  # fmt: skip

    before = report(0.43, 0.39, 0.47, 0.20)
    assert ship_tuned(before, report(0.45, 0.41, 0.49, 0.25))[0]
    fewer, why = ship_tuned(before, report(0.24, 0.20, 0.27, 0.23))  # the bundled build's own case
    assert not fewer and "lowered the valid share" in why and "pretrained policy ships" in why
    assert not ship_tuned(before, report(0.43, 0.39, 0.47, 0.19))[0]  # no gain in reward
    assert not ship_tuned(
        report(0.4, 0.3, 0.5, 0.2, (0.2, 0.15, 0.25)), report(0.4, 0.3, 0.5, 0.3, (0.05, 0.0, 0.1))
    )[0]
