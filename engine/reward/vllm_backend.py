"""Reward scoring with vLLM's offline engine (`runner="pooling"`).

`LLM.classify` applies a sigmoid to a one-label head by default; `use_activation=False` returns the raw
logit CodeScaler defines as the score. vLLM pools the literal last token, which equals the transformers
backend's last-non-pad pooling because the formatter already stripped trailing pad ids; and we send token
ids, not text, so vLLM cannot tokenize differently.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from engine.reward.formatter import DEFAULT_MAX_TOKENS, RewardFormatter
from engine.reward.model_source import check_reward_model, default_dtype, load_tokenizer
from engine.reward.scorer import RewardScorer


class VllmScorer(RewardScorer):
    """A reward model in an in-process vLLM engine.

    `dtype` defaults to bf16 on CUDA and float32 on CPU (vLLM's own "auto" would turn a float32
    checkpoint into float16 for pooling). Extra keyword arguments go to `vllm.LLM` unchanged
    (for example `kv_cache_memory_bytes`, `tensor_parallel_size`, `gpu_memory_utilization`).
    """

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        dtype: str | None = None,
        **engine_args: Any,
    ):
        # Our results go to stdout (JSON Lines); vLLM logs to stdout by default. Send its logs to stderr.
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        import torch
        from vllm import LLM, PoolingParams

        config = check_reward_model(model)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        limit = min(max_tokens, getattr(config, "max_position_embeddings", None) or max_tokens)
        tokenizer = load_tokenizer(model)
        self.formatter = RewardFormatter(tokenizer, limit)
        engine_args.setdefault("enforce_eager", device == "cpu")
        self.llm = LLM(
            model=model,
            runner="pooling",
            dtype=dtype or default_dtype(device),
            max_model_len=limit,
            **engine_args,
        )
        self._params = PoolingParams(use_activation=False)

    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        prompts = [{"prompt_token_ids": list(ids)} for ids in token_ids]
        outputs = self.llm.classify(prompts, pooling_params=self._params, use_tqdm=False)
        return [float(output.outputs.probs[0]) for output in outputs]

    def close(self) -> None:
        del self.llm
