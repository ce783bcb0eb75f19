"""Next-token training of the small default policy from scratch: a plain loop, not TRL's SFT trainer,
because the job is pretraining on packed windows and the whole point is to fit a 2-core CPU budget.

The examples are tokenized once, joined (each already ends in `<|endoftext|>`) and cut into equal
windows; windows are drawn in a seeded order. A checkpoint (weights, optimizer, step, RNG) is written
atomically every `checkpoint_steps`, so a killed build resumes where it stopped and ends with the same
weights it would have had.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.progress import ProgressBar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyShape:
    """A Qwen3 decoder. head_dim 64 keeps vLLM's CPU attention able to serve it."""

    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    max_position_embeddings: int = 4096


@dataclass(frozen=True)
class PretrainOptions:
    steps: int = 640
    window: int = 512
    batch_size: int = 8
    learning_rate: float = 2e-3
    warmup_steps: int = 40
    weight_decay: float = 0.1
    checkpoint_steps: int = 100
    seed: int = 0


def pack(texts: list[str], tokenizer: Any, window: int) -> Any:
    """All examples as one token stream cut into `window`-long rows (the ragged end is dropped)."""
    import torch

    ids: list[int] = []
    for start in range(0, len(texts), 512):
        for row in tokenizer(texts[start : start + 512], add_special_tokens=False)["input_ids"]:
            ids.extend(row)
    rows = len(ids) // window
    return torch.tensor(ids[: rows * window], dtype=torch.long).view(rows, window)


def _learning_rate(step: int, options: PretrainOptions) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < options.warmup_steps:
        return options.learning_rate * (step + 1) / options.warmup_steps
    progress = (step - options.warmup_steps) / max(1, options.steps - options.warmup_steps)
    return options.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def pretrain(
    rows: Any,
    config: Any,
    options: PretrainOptions,
    checkpoint: Path,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """The trained `Qwen3ForCausalLM` (on the CPU) and a summary (steps, tokens seen, loss at start and
    end). On CUDA the forward pass runs under bf16 autocast."""
    import torch
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(options.seed)
    model = Qwen3ForCausalLM(config).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": options.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=options.learning_rate, betas=(0.9, 0.95),
    )  # fmt: skip
    generator = torch.Generator().manual_seed(options.seed)
    order = torch.randperm(len(rows), generator=generator)
    step, losses, elapsed = 0, [], 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, losses, elapsed = state["step"], state["losses"], state["elapsed"]
        log.info("resuming the policy's pretraining at step %d", step)
    model.train()
    bar = ProgressBar(options.steps, "pretraining the policy", "step", progress)
    bar.update(step)
    started = time.monotonic() - elapsed
    while step < options.steps:
        picks = [order[(step * options.batch_size + i) % len(rows)] for i in range(options.batch_size)]
        batch = rows[torch.stack(picks)].to(device)
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, options)
        with torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda")):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        step += 1
        bar.update()
        if step % options.checkpoint_steps == 0 and step < options.steps:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                     "losses": losses, "elapsed": time.monotonic() - started}  # fmt: skip
            _save_checkpoint(checkpoint, state)
    bar.close()
    tail = losses[-20:] or [float("nan")]
    summary = {
        "steps": step,
        "windows": len(rows),
        "tokens_seen": step * options.batch_size * options.window,
        "epochs": round(step * options.batch_size / max(1, len(rows)), 3),
        "first_loss": losses[0] if losses else None,
        "final_loss": round(sum(tail) / len(tail), 4),
        "seconds": round(time.monotonic() - started, 1),
    }
    return model.cpu(), summary
