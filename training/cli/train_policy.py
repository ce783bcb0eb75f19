"""`codescaler train-policy`: GRPO for a code policy with the CodeScaler reward (or execution, the baseline)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import typer

from engine.cli.options import option
from engine.errors import CodescalerError
from training.cli.extra import needs_train_extra


def train_policy(
    problems: str = typer.Option(..., help="humaneval | mbppplus | FILE.jsonl | hf:DATASET[:CONFIG[:SPLIT]]"),
    policy: str = typer.Option(..., help="Causal LM to tune (local folder or hub id)."),
    out: Path = typer.Option(..., help="Folder for the tuned policy (checkpoints in OUT/checkpoints)."),
    reward: str = typer.Option("rm", help="rm (CodeScaler reward model) | execution (sandboxed tests, 0/1)."),
    reward_model: str | None = typer.Option(None, help="Reward model for --reward rm (in process)."),
    engine_url: str | None = option("engine"),
    token: str | None = option("token"),
    limit: int | None = typer.Option(None, help="Use only the first K problems."),
    max_steps: int = typer.Option(250, help="GRPO steps."),
    num_generations: int = typer.Option(8, help="Samples per prompt (the GRPO group)."),
    prompts_per_step: int = typer.Option(16, help="Prompts per step and device."),
    max_completion_length: int = typer.Option(1024, help="Longest response, in tokens."),
    temperature: float = typer.Option(0.6, help="Sampling temperature of the rollouts."),
    learning_rate: float = typer.Option(1e-6, help="Learning rate (after 10 warm-up steps, constant)."),
    use_vllm: bool | None = typer.Option(
        None, help="Rollouts with vLLM (default: when a GPU and vLLM are there)."
    ),
    save_steps: int = typer.Option(50, help="Checkpoint every this many steps."),
    seed: int = typer.Option(0, help="Seed."),
    resume: bool = typer.Option(False, help="Continue from the latest checkpoint in OUT/checkpoints."),
) -> None:
    """RL-tune a policy with GRPO; defaults follow the CodeScaler reference recipe (docs/training.md)."""
    from engine.hub import check_available
    from training.data.problems import load_problems
    from training.policy_training import PolicyTrainingOptions
    from training.policy_training import train_policy as run
    from training.rl_reward import CodeReward

    if reward not in ("rm", "execution"):
        raise CodescalerError("--reward must be rm or execution")
    check_available(policy, "--policy")
    loaded = load_problems(problems, limit)
    options = PolicyTrainingOptions(
        max_steps=max_steps, num_generations=num_generations, prompts_per_step=prompts_per_step,
        max_completion_length=max_completion_length, temperature=temperature, learning_rate=learning_rate,
        save_steps=save_steps, seed=seed, use_vllm=use_vllm, resume=resume,
    )  # fmt: skip
    with ExitStack() as stack:
        if reward == "execution":
            from training.execution_reward import ExecutionReward

            function = ExecutionReward(loaded).trl_reward_function()
        elif engine_url:
            function = CodeReward(engine_url=engine_url, token=token).trl_reward_function()
        elif reward_model:
            from engine.reward.scorer import load_scorer

            scorer = stack.enter_context(load_scorer(reward_model))
            function = CodeReward(scorer=scorer).trl_reward_function()
        else:
            raise CodescalerError("--reward rm needs --reward-model or --engine")
        summary = run(loaded, policy, out, function, options)
    typer.echo(json.dumps({key: value for key, value in summary.items() if key != "options"}))


def register(app: typer.Typer) -> None:
    app.command("train-policy")(needs_train_extra(train_policy))
