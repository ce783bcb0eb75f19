"""`codescaler train-rm`: a Bradley-Terry reward model from preference pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from engine.errors import CodescalerError
from training.cli.extra import needs_train_extra


def train_rm(
    pairs: list[Path] = typer.Option(
        ...,
        help="Pairs: JSONL or parquet with question_content, code_pos, code_neg (or question, chosen, "
        "rejected: completion pairs); repeat to train on several files.",
    ),
    completion_share: float | None = typer.Option(
        None, help="Repeat pairs so completion pairs (curate --fim) are this share of the rows (0..1)."
    ),
    feedback_share: float | None = typer.Option(
        None,
        help="Share of the rows for editor-feedback pairs (feedback pairs), mixed into execution-verified "
        "pairs (0..1; default 0.25 when there are any).",
    ),
    base: str = typer.Option(..., help="Reward model or causal LM to start from (local folder or hub id)."),
    out: Path = typer.Option(..., help="Folder for the trained model (checkpoints in OUT/checkpoints)."),
    max_steps: int = typer.Option(-1, help="Stop after this many optimizer steps (-1: --epochs)."),
    epochs: float = typer.Option(1.0, help="Passes over the training pairs."),
    learning_rate: float = typer.Option(1e-5, help="Peak learning rate."),
    batch_size: int = typer.Option(8, help="Pairs per device per step."),
    gradient_accumulation: int = typer.Option(1, help="Steps to accumulate before an update."),
    max_tokens: int = typer.Option(
        4096, help="Reward-input budget (longer inputs are shortened, not dropped)."
    ),
    margin: float | None = typer.Option(None, help="Constant margin in the loss (a pair's `margin` wins)."),
    center_rewards: float | None = typer.Option(None, help="Reward-centering coefficient (e.g. 0.01)."),
    lora_r: int | None = typer.Option(None, help="Train LoRA adapters of this rank (merged on save)."),
    eval_fraction: float = typer.Option(0.1, help="Share of questions held out for accuracy."),
    eval_steps: int = typer.Option(50, help="Measure held-out accuracy every this many steps."),
    save_steps: int = typer.Option(100, help="Checkpoint every this many steps."),
    seed: int = typer.Option(0, help="Seed for the split, the head initialisation and shuffling."),
    resume: bool = typer.Option(False, help="Continue from the latest checkpoint in OUT/checkpoints."),
) -> None:
    """Train a reward model with the product's reward input; the result loads in `codescaler score`."""
    from engine.default_models import BUNDLED, resolve
    from engine.hub import check_available
    from training.data.pairs import read_pairs
    from training.pair_mixing import mix
    from training.reward_training import PairRow, RewardTrainingOptions, train_reward_model

    if not 0 <= eval_fraction < 1:
        raise CodescalerError("--eval-fraction must be in [0, 1)")
    check_available(base, "--base")
    base = resolve(base, "reward") if base == BUNDLED else base  # continue training the package's own
    loaded = mix(
        [pair for path in pairs for pair in read_pairs(path)], completion_share, seed, feedback_share
    )
    rows = [
        PairRow(pair.question_content, pair.code_pos, pair.code_neg, pair.provenance.get("margin"))
        for pair in loaded
    ]
    options = RewardTrainingOptions(
        max_steps=max_steps, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
        gradient_accumulation=gradient_accumulation, max_tokens=max_tokens, margin=margin,
        center_rewards=center_rewards, lora_r=lora_r, eval_fraction=eval_fraction, eval_steps=eval_steps,
        save_steps=save_steps, seed=seed, resume=resume,
    )  # fmt: skip
    summary = train_reward_model(rows, base, out, options)
    typer.echo(json.dumps({key: value for key, value in summary.items() if key != "options"}))


def register(app: typer.Typer) -> None:
    app.command("train-rm")(needs_train_extra(train_rm))
