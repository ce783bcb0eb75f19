"""`codescaler eval bon`: best-of-N selection compared across selectors on the same pools."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import typer

from engine.cli.options import option
from engine.errors import CodescalerError

SELECTORS = ("rm", "rm-raw", "random", "first", "logprob", "examples", "majority", "codet", "oracle")


def bon(
    problems: str = typer.Option(
        ..., help="humaneval | mbppplus[:PATH] | mbppplus-asserts | FILE.jsonl | hf:DATASET[:CONFIG[:SPLIT]]"
    ),
    out: Path = typer.Option(..., help="Folder for the report, plots, pool and caches (a rerun resumes)."),
    pool: Path | None = typer.Option(None, help="Candidates per problem: JSONL rows with task_id and code."),
    policy: str | None = typer.Option(None, help="Sample the pool from this policy (folder or hub id)."),
    n: int = typer.Option(8, "-n", help="Samples per problem with --policy."),
    selectors: str = typer.Option(
        "auto", help=f"Comma-separated, from: {', '.join(SELECTORS)}; auto = every one that can run."
    ),
    reward_model: str | None = typer.Option(None, help="Reward model for rm, rm-raw and examples' ties."),
    reward_backend: str = typer.Option("transformers", help="transformers | vllm"),
    max_tokens: int = typer.Option(4096, help="Reward-input budget, in tokens."),
    test_policy: str | None = typer.Option(
        None, help="Policy that writes codet's tests (default: --policy)."
    ),
    policy_backend: str | None = option("policy_backend"),
    policy_url: str | None = option("policy_url"),
    api_key: str | None = option("api_key"),
    max_new_tokens: int = typer.Option(512, help="Longest sample, in tokens."),
    temperature: float = typer.Option(0.8, help="Sampling temperature."),
    top_p: float = typer.Option(0.95, help="Nucleus sampling."),
    limit: int | None = typer.Option(None, help="Use only the first K problems."),
    seed: int = typer.Option(0, help="Seeds sampling, sampled curve points and bootstrap intervals."),
    workers: int | None = typer.Option(None, help="Sandboxes at once (default: one per CPU)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Ground truth by sandboxed execution, then each selector's accuracy (with a 95% interval), its exact
    best-of-N curve and its selection latency; report.json, report.md and plots go to OUT."""
    from engine.hub import check_available
    from engine.jsonl import write_text_atomic
    from training.data.problems import load_problems
    from training.evaluation.bon import BonSetup, evaluate_bon
    from training.evaluation.bon_report import render_markdown, summary_table, write_plots
    from training.evaluation.pools import read_pool
    from training.sampling import SamplingSettings

    if (pool is None) == (policy is None):
        raise CodescalerError(
            "give either --pool FILE.jsonl or --policy MODEL (with -n N) for the candidates"
        )
    if policy is not None and n < 1:
        raise CodescalerError("-n must be at least 1")
    wanted = _wanted(selectors)
    for model, flag in (
        (policy, "--policy"),
        (test_policy, "--test-policy"),
        (reward_model, "--reward-model"),
    ):
        if model is not None:  # before sampling: a model the hub cannot give is one line now, not later
            check_available(model, flag)
    loaded = load_problems(problems, limit)
    out.mkdir(parents=True, exist_ok=True)
    test_policy = test_policy or policy
    with ExitStack() as stack:
        generators: dict[str, Any] = {}

        def generator(model: str) -> Any:
            from engine.generation.base import load_generator

            if model not in generators:
                generators[model] = stack.enter_context(
                    load_generator(model, policy_backend or "transformers", url=policy_url, api_key=api_key)
                )
            return generators[model]

        if policy is not None:
            settings = SamplingSettings(n, max_new_tokens, temperature, top_p, seed)
            pool = _sample_pool(loaded, policy, settings, out, lambda: generator(policy), quiet)
            label = f"policy {policy}, n={n}"
        else:
            label = str(pool)
        pools, bad_rows = read_pool(pool, loaded)
        if not any(pools.get(task_id) for task_id in loaded):
            raise CodescalerError(
                f"no problem has candidates in {pool}: check its task_ids against --problems"
            )
        built, skipped = _selectors(wanted, pools, reward_model, reward_backend, max_tokens, test_policy,
                                    generator, seed, workers, stack, max_new_tokens)  # fmt: skip
        setup = BonSetup(problems, label, reward_model, seed, workers, not quiet)
        report = evaluate_bon(loaded, pools, built, out, setup, bad_rows, skipped)
    write_text_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_plots(report, out)
    write_text_atomic(out / "report.md", render_markdown(report))
    typer.echo(summary_table(report))
    typer.echo(f"report: {out / 'report.md'}")


def _wanted(selectors: str) -> list[str] | None:
    if selectors.strip() == "auto":
        return None
    names = [name.strip() for name in selectors.split(",") if name.strip()]
    unknown = [name for name in names if name not in SELECTORS]
    if unknown or not names:
        raise CodescalerError(
            f"unknown selector(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(SELECTORS)}"
        )
    return names


def _sample_pool(loaded: dict, policy: str, settings: Any, out: Path, generator: Any, quiet: bool) -> Path:
    """OUT/pool.jsonl, sampled (or completed, after an interruption) with these settings."""
    from training.evaluation.pools import generate_pool
    from training.progress import ProgressBar
    from training.run_settings import check_run_settings
    from training.sampling import problem_seed

    path = out / "pool.jsonl"
    way_out = f"use another --out, or --pool {path} to reuse its pool"
    check_run_settings(out / "pool.json", {"policy": policy, **vars(settings)}, str(out), way_out)
    with ProgressBar(len(loaded), "sampling", "problem", not quiet) as bar:
        generate_pool(loaded, generator(), path, settings, problem_seed, bar.update)
    return path


def _selectors(
    wanted: list[str] | None,
    pools: dict[str, list[Any]],
    reward_model: str | None,
    reward_backend: str,
    max_tokens: int,
    test_policy: str | None,
    generator: Any,
    seed: int,
    workers: int | None,
    stack: ExitStack,
    max_new_tokens: int,
) -> tuple[list[Any], dict[str, str]]:
    """The selectors to run, in order, and those left out with the reason. Asked-for selectors that cannot
    run for lack of a model are an error; `logprob` without logprobs in the pool is skipped and reported."""
    from training.evaluation.selectors.baselines import FirstSelector, LogprobSelector, RandomSelector
    from training.evaluation.selectors.codet import CodetSelector
    from training.evaluation.selectors.examples import ExamplesSelector
    from training.evaluation.selectors.majority import MajoritySelector
    from training.evaluation.selectors.reward import RewardSelector

    names = list(wanted) if wanted is not None else list(SELECTORS)
    skipped: dict[str, str] = {}
    needs = {"rm": reward_model, "rm-raw": reward_model, "codet": test_policy}
    hints = {"rm": "--reward-model", "rm-raw": "--reward-model", "codet": "--test-policy or --policy"}
    for name in [name for name in names if name in needs and needs[name] is None]:
        if wanted is not None:
            raise CodescalerError(f"the {name} selector needs {hints[name]}")
        names.remove(name)
        skipped[name] = f"no {hints[name]} given"
    if "logprob" in names and not any(c.mean_logprob is not None for cs in pools.values() for c in cs):
        names.remove("logprob")
        skipped["logprob"] = "the pool has no logprobs"
    scorer = None
    if reward_model is not None and {"rm", "rm-raw", "examples"} & set(names):
        from engine.reward.scorer import load_scorer

        scorer = stack.enter_context(load_scorer(reward_model, reward_backend, max_tokens=max_tokens))  # type: ignore[arg-type]
    rm_name = f"{reward_model}|{reward_backend}|{max_tokens}"
    factories = {
        "rm": lambda: RewardSelector(scorer, rm_name, syntax_gate=True),
        "rm-raw": lambda: RewardSelector(scorer, rm_name, syntax_gate=False),
        "random": RandomSelector,
        "first": FirstSelector,
        "logprob": LogprobSelector,
        "examples": lambda: ExamplesSelector(RewardSelector(scorer, rm_name) if scorer else None, workers),
        "majority": lambda: MajoritySelector(workers),
        "codet": lambda: CodetSelector(
            generator(test_policy),
            str(test_policy),
            max_new_tokens=max_new_tokens,
            seed=seed,
            workers=workers,
        ),
    }
    return [factories[name]() for name in names if name != "oracle"], skipped
