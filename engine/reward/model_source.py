"""Checks that a model argument names a reward model before anything heavy loads it.

`AutoModelForSequenceClassification.from_pretrained` happily loads a causal LM and bolts a randomly
initialised score head onto it; the scores are then noise and nothing says so. Every backend therefore
checks the folder (or hub id) here first and fails with a one-line explanation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError, first_line


def looks_like_path(model: str) -> bool:
    """A local folder rather than a hub id: it exists, or is written like a path (`rm/` too: a hub id
    never ends with a slash)."""
    return (os.path.exists(model) or model.startswith((".", "/", "~")) or model.endswith("/")
            or model.count("/") > 1)  # fmt: skip


def load_config(model: str) -> Any:
    """The model's `transformers` config, with a clear error for a missing or non-model folder."""
    from transformers import AutoConfig

    if looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise CodescalerError(
                f"model folder {model} does not exist: give a local model folder or a hub id"
            )
        if not (folder / "config.json").is_file():
            raise CodescalerError(
                f"{model} is not a model folder (no config.json): point at a folder saved with save_pretrained"
            )
        model = str(folder)
    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise CodescalerError(f"cannot load the config of model {model}: {first_line(exc)}") from exc


def check_reward_model(model: str) -> Any:
    """The config of `model`, which must be a single-score `*ForSequenceClassification` model."""
    config = load_config(model)
    architectures = list(getattr(config, "architectures", None) or [])
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        shown = ", ".join(architectures) or "a model with no architectures recorded"
        raise CodescalerError(
            f"{model} is {shown}, not a sequence-classification reward model "
            "(expected *ForSequenceClassification with num_labels=1)"
        )
    if config.num_labels != 1:
        raise CodescalerError(
            f"{model} has num_labels={config.num_labels}; a CodeScaler reward model has exactly one score"
        )
    return config


def load_tokenizer(model: str) -> Any:
    """The model's own tokenizer (its chat template decides the reward input), with a clear error."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            str(Path(model).expanduser()) if looks_like_path(model) else model
        )
    except (OSError, ValueError) as exc:
        raise CodescalerError(f"cannot load the tokenizer of model {model}: {first_line(exc)}") from exc


def default_dtype(device: str) -> str:
    """bf16 on CUDA (what the released checkpoints use), float32 elsewhere (CPUs lack fast bf16 paths)."""
    return "bfloat16" if device.startswith("cuda") else "float32"


def check_causal_lm(model: str) -> Any:
    """The config of `model`, which must be a `*ForCausalLM` (a generator of code)."""
    config = load_config(model)
    architectures = list(getattr(config, "architectures", None) or [])
    if not any(name.endswith(("ForCausalLM", "LMHeadModel")) for name in architectures):
        shown = ", ".join(architectures) or "a model with no architectures recorded"
        raise CodescalerError(f"{model} is {shown}, not a causal language model (expected *ForCausalLM)")
    return config
