"""`codescaler train-policy`: GRPO for a code policy with the CodeScaler reward (or execution, the baseline)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

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
    objective: str = typer.Option(
        "program", help="program (a whole program per problem statement) | fim (fills at editor cursors)."
    ),
    spans: str = typer.Option("line,partial,block", help="With --objective fim: the kinds of cursor."),
    cursors_per_kind: int = typer.Option(1, help="With --objective fim: cursors of each kind per problem."),
    held_out: int = typer.Option(
        0,
        help="With --objective fim: keep the last K problems out of training and measure the policy on "
        "them before and after (valid share, mean reward, pass rate; OUT/editor_eval.json).",
    ),
) -> None:
    """RL-tune a policy with GRPO; defaults follow the CodeScaler reference recipe (docs/training.md)."""
    from engine.default_models import BUNDLED, resolve
    from engine.hub import check_available
    from training.data.problems import load_problems
    from training.fim_cursors import parse_span_kinds
    from training.policy_training import PolicyTrainingOptions, prompt_rows
    from training.policy_training import train_policy as run
    from training.rl_reward import CodeReward

    if reward not in ("rm", "execution"):
        raise CodescalerError("--reward must be rm or execution")
    if objective not in ("program", "fim"):
        raise CodescalerError("--objective must be program or fim")
    if objective == "fim" and engine_url:
        raise CodescalerError("--objective fim scores in process: give --reward-model instead of --engine")
    if held_out and objective != "fim":
        raise CodescalerError("--held-out measures the editor objective: use it with --objective fim")
    check_available(policy, "--policy")
    policy = resolve(policy, "policy") if policy == BUNDLED else policy  # `bundled`: the package's own
    loaded = load_problems(problems, limit)
    if objective == "fim":
        _train_fim(loaded, policy, out, reward, reward_model, parse_span_kinds(spans), cursors_per_kind, held_out,
                   PolicyTrainingOptions(max_steps=max_steps, num_generations=num_generations,
                                         prompts_per_step=prompts_per_step, max_completion_length=max_completion_length,
                                         temperature=temperature, learning_rate=learning_rate, save_steps=save_steps,
                                         seed=seed, use_vllm=use_vllm, resume=resume))  # fmt: skip
        return
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
        summary = run(prompt_rows(loaded, "python"), policy, out, function, options)
    typer.echo(json.dumps({key: value for key, value in summary.items() if key != "options"}))


def _train_fim(
    problems: dict, policy: str, out: Path, reward: str, reward_model: str | None, kinds: tuple[str, ...],
    per_kind: int, held_out: int, options: Any,
) -> None:  # fmt: skip
    """The editor objective (training/fim_objective.py), measured before and after on held-out problems."""
    from engine.reward.model_source import load_tokenizer
    from engine.reward.scorer import load_scorer
    from training import fim_objective
    from training.policy_training import train_policy as run

    if held_out < 0 or held_out >= len(problems):
        raise CodescalerError(f"--held-out must be at least 0 and below the {len(problems)} problems")
    if reward == "rm" and reward_model is None:
        raise CodescalerError("--reward rm needs --reward-model")
    names = list(problems)
    train = {name: problems[name] for name in names[: len(names) - held_out]}
    test = {name: problems[name] for name in names[len(names) - held_out :]}
    rows = fim_objective.prompt_rows(train, load_tokenizer(policy), kinds, per_kind, options.seed)
    if not rows:
        raise CodescalerError("no problem has a reference to cut cursors from: --objective fim needs them")
    with ExitStack() as stack:
        scorer = stack.enter_context(load_scorer(reward_model)) if reward_model else None
        before = _editor_eval(policy, scorer, test, kinds, per_kind, options) if test else None
        if reward == "rm":
            function = fim_objective.EditorReward(scorer).trl_reward_function()
        else:
            function = fim_objective.EditorExecutionReward(train).trl_reward_function()
        summary = run(rows, policy, out, function, options)
        after = _editor_eval(str(out), scorer, test, kinds, per_kind, options) if test else None
    summary = {key: value for key, value in summary.items() if key != "options"} | {"objective": "fim"}
    if test:
        from engine.jsonl import write_text_atomic

        report = {"held_out_problems": list(test), "before": before, "after": after}
        write_text_atomic(out / "editor_eval.json", json.dumps(report, indent=2) + "\n")
        summary["editor_eval"] = {"before": before, "after": after}
        typer.echo(_eval_line("before", before), err=True)
        typer.echo(_eval_line("after", after), err=True)
    typer.echo(json.dumps(summary))


def _editor_eval(
    policy: str, scorer: Any, problems: dict, kinds: tuple[str, ...], per_kind: int, options: Any
) -> dict:
    from engine.protocol import RankOptions
    from training.fim_objective import editor_report

    sampling = RankOptions(n=options.num_generations, max_new_tokens=options.max_completion_length,
                           temperature=options.temperature, top_p=options.top_p)  # fmt: skip
    return editor_report(policy, scorer, problems, sampling, kinds, per_kind, options.seed)


def _eval_line(when: str, report: dict) -> str:
    reward = "-" if report["mean_reward"] is None else f"{report['mean_reward']:.4f}"
    return (f"held-out cursors, {when}: valid {report['valid']['rate']:.3f}, mean reward {reward}, "
            f"pass {report['pass']['rate']:.3f} ({report['samples']} samples)")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("train-policy")(needs_train_extra(train_policy))
