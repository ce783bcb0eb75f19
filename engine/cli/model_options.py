"""The model options that `rank`, `serve` and `lsp` share: declared once, resolved against the config file.

Flags default to None so that "not given" can fall back to the config file's `[models]` section, then to
the built-in defaults of `ModelSpec`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from engine.config_file import load_config
from engine.model_spec import ModelSpec

CONFIG = typer.Option(
    None, "--config", help="Config file (default: $CODESCALER_CONFIG or ~/.config/codescaler/config.toml)."
)
POLICY = typer.Option(None, "--policy", help="Code model: local folder or hub id (tokenizer for openai).")
REWARD_MODEL = typer.Option(None, "--reward-model", help="Reward model: local folder or hub id.")
POLICY_BACKEND = typer.Option(None, help="transformers (default) | vllm | openai")
POLICY_URL = typer.Option(None, help="OpenAI-compatible server for the openai policy backend.")
REWARD_BACKEND = typer.Option(None, help="transformers (default) | vllm | http")
REWARD_URL = typer.Option(None, help="vLLM pooling server for the http reward backend.")
API_KEY = typer.Option(None, envvar="CODESCALER_API_KEY", help="Bearer token for model servers.")
GRAPH_DECODE = typer.Option(
    None,
    help="transformers policy on CUDA: sample with CUDA graphs (serve and lsp compile for the default N, "
    "about a minute, before they report ready; another N compiles at its first request).",
)
FIM_TEMPLATE = typer.Option(None, help="auto (default) | qwen | starcoder | deepseek | codellama")


def resolve_models(config: Path | None, **flags: Any) -> tuple[ModelSpec, dict[str, dict[str, Any]]]:
    """The model spec (flags over the config file over defaults) and the whole config file's settings."""
    settings = load_config(config)
    return ModelSpec.from_settings(settings.get("models", {}), **flags), settings
