"""The model options that `rank` and `serve` share: declared once, loaded once."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import typer

from engine.errors import CodescalerError

POLICY = typer.Option(None, "--policy", help="Code model: local folder or hub id (tokenizer for openai).")
REWARD_MODEL = typer.Option(None, "--reward-model", help="Reward model: local folder or hub id.")
POLICY_BACKEND = typer.Option("transformers", help="transformers | vllm | openai")
POLICY_URL = typer.Option(None, help="OpenAI-compatible server for the openai policy backend.")
REWARD_BACKEND = typer.Option("transformers", help="transformers | vllm | http")
REWARD_URL = typer.Option(None, help="vLLM pooling server for the http reward backend.")
API_KEY = typer.Option(None, envvar="CODESCALER_API_KEY", help="Bearer token for model servers.")
GRAPH_DECODE = typer.Option(
    False, help="transformers policy on CUDA: sample with CUDA graphs (about a minute to compile first)."
)
FIM_TEMPLATE = typer.Option("auto", help="auto | qwen | starcoder | deepseek | codellama")


def load_models(
    stack: ExitStack,
    policy: str | None,
    reward_model: str | None,
    policy_backend: str,
    policy_url: str | None,
    reward_backend: str,
    reward_url: str | None,
    api_key: str | None,
    graph_decode: bool = False,
) -> tuple[Any, Any]:
    """The generator and scorer, closed when `stack` closes."""
    from engine.generation.base import load_generator
    from engine.reward.scorer import load_scorer

    if not policy or not reward_model:
        raise CodescalerError("give the models with --policy and --reward-model (or use --engine)")
    generator = stack.enter_context(
        load_generator(policy, policy_backend, url=policy_url, api_key=api_key, graph_decode=graph_decode)
    )
    scorer = stack.enter_context(load_scorer(reward_model, reward_backend, url=reward_url, api_key=api_key))  # type: ignore[arg-type]
    return generator, scorer
