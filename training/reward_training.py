"""Bradley-Terry reward-model training (TRL `RewardTrainer`) on CodeScalerPair-style pairs.

The reward input is produced by the engine's own `RewardFormatter`, and the trainer receives token ids,
not text: TRL would otherwise append an EOS to plain text (or render chat data itself), and the model would
be trained on strings it never sees when `codescaler score` serves it. Over-long inputs are shortened the
way serving shortens them (question middle first), so no pair is silently dropped; the count of shortened
pairs is logged.

Held-out pairs are split by question, so no held-out question was seen in training. Accuracy on them is
logged during training (TRL's per-batch metric) and measured exactly afterwards by scoring the saved model
through the engine's scorer, the same path `codescaler score` takes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError, first_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardTrainingOptions:
    max_steps: int = -1  # -1: train for `epochs`
    epochs: float = 1.0
    learning_rate: float = 1e-5
    batch_size: int = 8
    gradient_accumulation: int = 1
    max_tokens: int = 4096
    margin: float | None = None  # a constant margin in the loss; a pair's own "margin" field wins
    center_rewards: float | None = None  # coefficient of TRL's reward-centering term
    lora_r: int | None = None  # LoRA rank (merged into the saved model); None trains all weights
    eval_fraction: float = 0.1
    eval_steps: int = 50
    save_steps: int = 100
    seed: int = 0
    resume: bool = False


@dataclass(frozen=True)
class PairRow:
    question: str
    chosen: str
    rejected: str
    margin: float | None = None


def _held_out(question: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{question}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def hardware_arguments() -> dict[str, bool]:
    """The TRL/Trainer settings that depend on the machine: bf16 and gradient checkpointing on GPUs that
    support them, float32 on CPU (TRL turns both on by default, which a CPU run cannot use)."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "bf16": cuda and torch.cuda.is_bf16_supported(),
        "gradient_checkpointing": cuda,
        "use_cpu": not cuda,
    }


def split_by_question(
    rows: Sequence[PairRow], fraction: float, seed: int
) -> tuple[list[PairRow], list[PairRow]]:
    """(train, held out): whole questions go to one side, so held-out accuracy measures generalisation."""
    train = [row for row in rows if not _held_out(row.question, fraction, seed)]
    held = [row for row in rows if _held_out(row.question, fraction, seed)]
    if fraction > 0 and not held and len({row.question for row in rows}) > 1:
        last = rows[-1].question  # tiny data: hold out one question rather than none
        train = [row for row in rows if row.question != last]
        held = [row for row in rows if row.question == last]
    return train, held


def _load_model(base: str, tokenizer: Any, dtype: Any) -> Any:
    """A single-score sequence classifier from a reward model or a causal LM (whose score head starts
    from scratch, as in the paper's recipe when no reward model exists yet)."""
    from transformers import AutoModelForSequenceClassification

    from engine.reward.model_source import check_causal_lm, check_reward_model

    try:
        check_reward_model(base)
    except CodescalerError as not_rm:
        try:
            check_causal_lm(base)
        except CodescalerError:
            raise not_rm from None
        log.info("%s is a causal LM: adding a fresh score head", base)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise CodescalerError(f"cannot load {base} as a reward model: {first_line(exc)}") from exc
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.id2label, model.config.label2id = {0: "score"}, {"score": 0}
    return model


def _tokenize(rows: Sequence[PairRow], formatter: Any, margin: float | None) -> tuple[list[dict], int]:
    """TRL's pre-tokenized columns, and how many pairs had an input shortened to fit the budget."""
    out, shortened = [], 0
    for row in rows:
        chosen, rejected = formatter(row.question, row.chosen), formatter(row.question, row.rejected)
        shortened += chosen.truncated or rejected.truncated
        example: dict[str, Any] = {"chosen_ids": chosen.token_ids, "rejected_ids": rejected.token_ids}
        if row.margin is not None or margin is not None:
            example["margin"] = row.margin if row.margin is not None else margin
        out.append(example)
    return out, shortened


def save_atomically(model: Any, tokenizer: Any, out: Path) -> None:
    """Weights and tokenizer first, config.json last: a folder without config.json is refused by every
    backend, so a killed save never leaves something that loads as a broken model."""
    staging = out / ".saving"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    names = sorted(os.listdir(staging), key=lambda name: name == "config.json")
    for name in names:
        os.replace(staging / name, out / name)
    staging.rmdir()


def pairwise_accuracy(model_dir: Path, rows: Sequence[PairRow], max_tokens: int) -> float | None:
    """Fraction of pairs whose chosen program scores above the rejected one, through the engine's scorer."""
    if not rows:
        return None
    from engine.reward.transformers_backend import TransformersScorer

    with TransformersScorer.from_pretrained(str(model_dir), max_tokens=max_tokens) as scorer:
        scores = scorer.score([(r.question, code) for r in rows for code in (r.chosen, r.rejected)])
    return sum(scores[2 * i] > scores[2 * i + 1] for i in range(len(rows))) / len(rows)


def train_reward_model(
    rows: Sequence[PairRow], base: str, out: Path, options: RewardTrainingOptions = RewardTrainingOptions()
) -> dict[str, Any]:
    """Train, save a model `codescaler score` loads, and return the summary (also written to out)."""
    import torch
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from engine.reward.formatter import RewardFormatter
    from engine.reward.model_source import load_tokenizer

    if not rows:
        raise CodescalerError("no pairs to train on")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hardware = hardware_arguments()
    torch.manual_seed(options.seed)  # the fresh score head's initialisation (the Trainer seeds only later)
    model = _load_model(base, tokenizer, torch.bfloat16 if hardware["bf16"] else torch.float32)
    limit = getattr(model.config, "max_position_embeddings", None) or options.max_tokens
    formatter = RewardFormatter(tokenizer, min(options.max_tokens, limit))
    train_rows, held_rows = split_by_question(rows, options.eval_fraction, options.seed)
    if not train_rows:
        raise CodescalerError("every pair landed in the held-out split: lower --eval-fraction")
    train, shortened = _tokenize(train_rows, formatter, options.margin)
    held, held_shortened = _tokenize(held_rows, formatter, options.margin)
    log.info(
        "%d training pairs, %d held out (%d questions); %d shortened to fit %d tokens, 0 dropped",
        len(train), len(held), len({r.question for r in held_rows}), shortened + held_shortened,
        formatter.max_tokens,
    )  # fmt: skip
    peft_config = None
    if options.lora_r:
        from peft import LoraConfig

        peft_config = LoraConfig(
            task_type="SEQ_CLS", r=options.lora_r, lora_alpha=2 * options.lora_r, target_modules="all-linear"
        )
    checkpoints = out / "checkpoints"
    args = RewardConfig(
        output_dir=str(checkpoints),
        max_steps=options.max_steps,
        num_train_epochs=options.epochs,
        learning_rate=options.learning_rate,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation,
        center_rewards_coefficient=options.center_rewards,
        max_length=None,  # inputs are already within the formatter's budget
        **hardware,
        eval_strategy="steps" if held else "no",
        eval_steps=options.eval_steps,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        logging_steps=max(1, min(10, options.eval_steps)),
        report_to=[],
        seed=options.seed,
    )
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(held) if held else None,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    resume = options.resume and checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    if options.resume and not resume:
        log.warning("no checkpoint in %s: starting from the beginning", checkpoints)
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    trained = trainer.model
    if peft_config is not None:
        trained = trained.merge_and_unload()
    save_atomically(trained, tokenizer, out)
    summary = {
        "base": base,
        "pairs": len(rows),
        "train_pairs": len(train),
        "held_out_pairs": len(held),
        "shortened_pairs": shortened + held_shortened,
        "dropped_pairs": 0,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "held_out_accuracy": pairwise_accuracy(out, held_rows, formatter.max_tokens),
        "options": asdict(options),
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
