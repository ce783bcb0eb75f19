"""GRPO with the CodeScaler reward: the reward callable's rules, and a short CPU run whose reward rises."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.reward.transformers_backend import TransformersScorer
from tests.test_serve import TOKEN, start_server, stop_server
from training.policy_training import PolicyTrainingOptions, prompt_rows, train_policy
from training.problems import Problem, TestSpec
from training.rl_reward import CodeReward

GOOD = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"
BROKEN = "```python\ndef add(a, b) return a + b\n```"
TWO_BLOCKS = "```python\nx = 1\n```\n```python\ny = 2\n```"


@pytest.fixture(scope="module")
def scorer(tiny_reward):
    return TransformersScorer.from_pretrained(str(tiny_reward))


def test_reward_follows_the_reference_rule_and_shaping(scorer):
    reward = CodeReward(scorer=scorer)
    good, broken, two, plain = reward.rewards(["Add."] * 4, [GOOD, BROKEN, TWO_BLOCKS, "no code at all"])
    assert good > 0  # softplus of any score is positive
    assert broken == two == plain == 0.0  # invalid, ambiguous or missing code never reaches the model
    raw = CodeReward(scorer=scorer, shaping="raw").rewards(["Add."], [GOOD])[0]
    assert good == pytest.approx(__import__("math").log1p(__import__("math").exp(raw)))


def test_trl_reward_function_reads_conversations_and_the_question_column(scorer):
    function = CodeReward(scorer=scorer).trl_reward_function()
    prompts = [[{"role": "user", "content": "Add two numbers."}]] * 2
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": BROKEN}]]
    by_prompt = asyncio.run(function(prompts, completions))
    by_column = asyncio.run(function(prompts, completions, question=["Add two numbers."] * 2))
    assert by_prompt == by_column and by_prompt[0] > 0 and by_prompt[1] == 0.0


def test_remote_reward_equals_in_process(scorer, tiny_models, tmp_path):
    process, port, log = start_server(tiny_models, tmp_path)
    try:
        remote = CodeReward(engine_url=f"ws://127.0.0.1:{port}", token=TOKEN)
        questions, responses = ["Add.", "Add.", "Sub."], [GOOD, BROKEN, GOOD]
        assert remote.rewards(questions, responses) == pytest.approx(
            CodeReward(scorer=scorer).rewards(questions, responses), abs=1e-4
        )
    finally:
        stop_server(process, log)


def test_prompts_ask_for_one_fenced_block():
    problems = {"t": Problem("t", "Reverse a string.", TestSpec("check"))}
    row = prompt_rows(problems, "python")[0]
    assert row["question"] == "Reverse a string." and row["task_id"] == "t"
    assert "exactly one fenced code block" in row["prompt"][0]["content"]


def test_a_short_grpo_run_raises_the_mean_reward(scorer, tiny_models, tmp_path):
    """Toy task: the whole completion is the program (no fences for a random tiny policy to learn), and
    the tiny reward model's score is the target. GRPO must move the policy towards higher rewards."""
    problems = {f"t{i}": Problem(f"t{i}", f"Write function number {i}.", TestSpec("check")) for i in range(4)}
    reward = CodeReward(scorer=scorer, language="none", extraction="none").trl_reward_function()
    options = PolicyTrainingOptions(max_steps=16, num_generations=4, prompts_per_step=2, max_completion_length=12,
                                    learning_rate=5e-4, warmup_steps=0, temperature=1.0, save_steps=100)  # fmt: skip
    summary = train_policy(
        prompt_rows(problems, "python"), str(tiny_models["policy"]), tmp_path, reward, options
    )
    rewards = summary["mean_reward_per_step"]
    assert len(rewards) == 16
    assert sum(rewards[-4:]) / 4 > sum(rewards[:4]) / 4 + 0.5
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["Qwen3ForCausalLM"]


def test_execution_reward_runs_the_tests_in_the_sandbox():
    import asyncio as aio

    from training.data.problems import load_problems
    from training.execution_reward import ExecutionReward

    problem = load_problems("humaneval", limit=1)
    task_id, first = next(iter(problem.items()))
    right = f"```python\n{first.question}{first.metadata['canonical_solution']}\n```"
    wrong = f"```python\n{first.question}    return None\n```"
    function = ExecutionReward(problem, workers=2).trl_reward_function()
    got = aio.run(function([""] * 3, [right, wrong, "no code"], task_id=[task_id] * 3))
    assert got == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("reward", ["rm", "execution"])
def test_train_policy_command(codescaler_cli, tiny_models, tmp_path, reward):
    import subprocess

    command = [codescaler_cli, "train-policy", "--problems", "humaneval", "--limit", "2", "--policy",
               str(tiny_models["policy"]), "--out", str(tmp_path / "policy"), "--reward", reward, "--max-steps",
               "2", "--num-generations", "2", "--prompts-per-step", "1", "--max-completion-length", "8"]  # fmt: skip
    if reward == "rm":
        command += ["--reward-model", str(tiny_models["reward"])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2 and len(summary["mean_reward_per_step"]) == 2
    assert (tmp_path / "policy" / "config.json").is_file()


def test_train_policy_needs_a_reward_source(codescaler_cli, tiny_models, tmp_path):
    import subprocess

    result = subprocess.run([codescaler_cli, "train-policy", "--problems", "humaneval", "--policy",
                             str(tiny_models["policy"]), "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 1 and "--reward-model or --engine" in result.stderr
