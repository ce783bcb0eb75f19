"""Reward scoring in-process with `transformers`.

Throughput comes from three choices:

* Inputs are sorted by length and packed into batches under a token budget, so padding is small.
* Batches are padded on the right. A decoder-only model attends causally, so no real token can see the
  pad tokens after it: the logits are exact without an attention mask, and without a mask SDPA takes its
  fused (flash) path. Encoder models (BERT-style classifiers) still get a mask.
* The sequence-classification head pools the last non-pad token. The formatter strips trailing pad ids,
  and the pad id is set on the config, so that token is the last real one whatever the tokenizer's own
  padding side, and also when pad == eos.
* Candidates for one context share a long prefix (the question and the code before the cursor). When
  every sequence of a call starts with the same 16+ tokens, that prefix is encoded once and each
  sequence's own tail attends to its cached keys and values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from engine.reward.formatter import DEFAULT_MAX_TOKENS, RewardFormatter
from engine.reward.model_source import check_reward_model, default_dtype, load_tokenizer
from engine.reward.scorer import RewardScorer


def length_sorted_batches(lengths: Sequence[int], max_batch_tokens: int) -> Iterator[list[int]]:
    """Indices grouped longest first so that each padded batch holds at most `max_batch_tokens`
    (a single longer input still gets a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for index in order:
        # The batch's first (longest) member sets the padded width.
        if batch and (len(batch) + 1) * lengths[batch[0]] > max_batch_tokens:
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


MIN_SHARED_PREFIX = 16


def shared_prefix_length(token_ids: Sequence[list[int]]) -> int:
    """Tokens every sequence starts with, leaving each at least one token of its own."""
    if not token_ids:
        return 0
    limit = min(len(ids) for ids in token_ids) - 1
    first = token_ids[0]
    for position in range(max(limit, 0)):
        if any(ids[position] != first[position] for ids in token_ids[1:]):
            return position
    return max(limit, 0)


def pad_token_id_for(tokenizer: Any, config: Any) -> int:
    """The pad id the model pools by: the tokenizer's, else the config's, else eos (as Qwen does)."""
    for candidate in (tokenizer.pad_token_id, getattr(config, "pad_token_id", None), tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def attends_causally(model: Any) -> bool:
    """Whether every attention layer is causal (decoder-only), which makes right padding mask-free."""
    flags = [
        module.is_causal for module in model.modules() if isinstance(getattr(module, "is_causal", None), bool)
    ]
    return bool(flags) and all(flags)


class TransformersScorer(RewardScorer):
    """A loaded `*ForSequenceClassification` model in this process; see `from_pretrained`.

    Built from objects already in memory, it can score with a model that is being trained or that was
    made from a config (benchmarks).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_batch_tokens: int | None = None,
        compile: bool = False,
        share_prefix: bool = True,
    ):
        import torch

        self.share_prefix = share_prefix
        self.model = model.eval()
        self.device = str(next(model.parameters()).device)
        self.pad_token_id = pad_token_id_for(tokenizer, model.config)
        self.model.config.pad_token_id = self.pad_token_id
        if compile:
            self.model.forward = torch.compile(self.model.forward, dynamic=True)
        self.causal = attends_causally(self.model)
        limit = getattr(model.config, "max_position_embeddings", None) or max_tokens
        self.formatter = RewardFormatter(tokenizer, min(max_tokens, limit), self.pad_token_id)
        self.max_batch_tokens = max_batch_tokens or (65536 if self.device.startswith("cuda") else 1024)

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        dtype: str | None = None,
        device: str | None = None,
        **options: Any,
    ) -> TransformersScorer:
        """Load `model` (local folder or hub id), bf16 on CUDA and float32 on CPU unless told otherwise.

        `options` are the constructor's (`max_tokens`, `max_batch_tokens`, `compile`).
        """
        import torch
        from transformers import AutoModelForSequenceClassification

        check_reward_model(model)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tokenizer = load_tokenizer(model)
        loaded = AutoModelForSequenceClassification.from_pretrained(
            model, dtype=getattr(torch, dtype or default_dtype(device))
        )
        return cls(loaded.to(device), tokenizer, **options)

    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        shared = shared_prefix_length(token_ids)
        if self.share_prefix and self.causal and len(token_ids) > 1 and shared >= MIN_SHARED_PREFIX:
            return self._score_with_shared_prefix(token_ids, shared)
        return self._score_batches(token_ids)

    def _score_with_shared_prefix(self, token_ids: Sequence[list[int]], shared: int) -> list[float]:
        """Encode the common prefix once, then only each sequence's own tail against its cached keys."""
        import copy

        import torch

        with torch.inference_mode():
            prefix = torch.tensor([list(token_ids[0][:shared])], device=self.device)
            prefix_cache = self.model.base_model(input_ids=prefix, use_cache=True).past_key_values
        tails = [ids[shared:] for ids in token_ids]
        return self._score_batches(tails, prefix_cache=prefix_cache, copy_cache=copy.deepcopy)

    def _score_batches(
        self, token_ids: Sequence[list[int]], prefix_cache: Any = None, copy_cache: Any = None
    ) -> list[float]:
        import torch

        scores = [0.0] * len(token_ids)
        lengths = [len(ids) for ids in token_ids]
        with torch.inference_mode():
            for batch in length_sorted_batches(lengths, self.max_batch_tokens):
                width = lengths[batch[0]]
                input_ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
                for row, index in enumerate(batch):
                    input_ids[row, : lengths[index]] = torch.tensor(token_ids[index])
                attention_mask = None
                if not self.causal:
                    real = torch.tensor([lengths[index] for index in batch]).unsqueeze(1)
                    attention_mask = (torch.arange(width).unsqueeze(0) < real).long().to(self.device)
                extra = {}
                if prefix_cache is not None:
                    cache = copy_cache(prefix_cache)
                    cache.batch_repeat_interleave(len(batch))
                    extra = {"past_key_values": cache, "use_cache": True}
                logits = self.model(
                    input_ids=input_ids.to(self.device), attention_mask=attention_mask, **extra
                ).logits
                for index, value in zip(batch, logits[:, 0].float().tolist(), strict=True):
                    scores[index] = value
        return scores

    def close(self) -> None:
        import torch

        del self.model
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
