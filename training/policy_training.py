"""GRPO for a code policy with the CodeScaler reward (TRL `GRPOTrainer`).

Defaults follow the paper's reference recipe: group size 8, clip 0.2 / 0.28 (clip-higher), no KL term
(beta 0), no entropy bonus, token-mean loss ("dapo"), sampling T=0.6, top-p 0.95, top-k 20, learning rate
1e-6 with 10 warm-up steps then constant. Prompts ask for one fenced block, the answer the reward
extracts by the reference rule. `reward="execution"` swaps in the sandbox's binary pass/fail: the
baseline the paper compares against.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.prompts.builder import PROBLEM_INSTRUCTION
from training.problems import Problem
from training.reward_training import hardware_arguments, save_atomically

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyTrainingOptions:
    max_steps: int = 250
    num_generations: int = 8
    prompts_per_step: int = 16
    max_completion_length: int = 1024
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    learning_rate: float = 1e-6
    warmup_steps: int = 10
    epsilon: float = 0.2
    epsilon_high: float = 0.28
    beta: float = 0.0
    save_steps: int = 50
    seed: int = 0
    use_vllm: bool | None = None  # None: vLLM rollouts when a GPU and vLLM are there
    resume: bool = False


def _vllm_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("vllm") is not None


def prompt_rows(problems: dict[str, Problem], language: str) -> list[dict[str, Any]]:
    """Chat prompts asking for one fenced block; `question` is what the reward model reads."""
    return [
        {
            "prompt": [
                {"role": "user", "content": PROBLEM_INSTRUCTION.format(problem=p.question, language=language)}
            ],
            "question": p.question,
            "task_id": task_id,
        }
        for task_id, p in problems.items()
    ]


def train_policy(
    rows: list[dict[str, Any]],
    base: str,
    out: Path,
    reward_function: Callable[..., Any],
    options: PolicyTrainingOptions = PolicyTrainingOptions(),
) -> dict[str, Any]:
    """Run GRPO on dataset `rows` (`prompt` plus the columns the reward reads: `prompt_rows` for problem
    statements, `fim_objective.prompt_rows` for cursors) and save the policy to `out` (checkpoints in
    out/checkpoints); returns the summary."""
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from engine.reward.model_source import check_causal_lm, load_tokenizer

    if not rows:
        raise CodescalerError("no prompts to train on")
    check_causal_lm(base)
    tokenizer = load_tokenizer(base)
    tokenizer.padding_side = "left"  # GRPO generates from left-padded prompts
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hardware = hardware_arguments()
    use_vllm = (
        options.use_vllm if options.use_vllm is not None else not hardware["use_cpu"] and _vllm_installed()
    )
    checkpoints = out / "checkpoints"
    batch = options.prompts_per_step * options.num_generations
    config = GRPOConfig(
        output_dir=str(checkpoints),
        max_steps=options.max_steps,
        per_device_train_batch_size=batch,
        num_generations=options.num_generations,
        max_completion_length=options.max_completion_length,
        temperature=options.temperature,
        top_p=options.top_p,
        top_k=options.top_k,
        learning_rate=options.learning_rate,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=options.warmup_steps,
        epsilon=options.epsilon,
        epsilon_high=options.epsilon_high,
        beta=options.beta,
        loss_type="dapo",
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        logging_steps=1,
        report_to=[],
        seed=options.seed,
        **hardware,
        use_vllm=use_vllm,
        model_init_kwargs={"dtype": torch.bfloat16 if hardware["bf16"] else torch.float32},
    )
    trainer = GRPOTrainer(
        model=base,
        reward_funcs=[reward_function],
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    resume = options.resume and checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    out.mkdir(parents=True, exist_ok=True)
    save_atomically(trainer.model, tokenizer, out)
    rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    summary = {
        "base": base,
        "prompts": len(rows),
        "steps": result.global_step,
        "vllm_rollouts": use_vllm,
        "mean_reward_per_step": rewards,
        "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
        "options": asdict(options),
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
