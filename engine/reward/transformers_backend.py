"""Reward scoring in-process with `transformers`.

Throughput comes from three choices:

* Inputs are sorted by length and packed into batches under a token budget, so padding is small.
* Batches are padded on the right. A decoder-only model attends causally, so no real token can see the
  pad tokens after it: the logits are exact without an attention mask, and without a mask SDPA takes its
  fused (flash) path. Encoder models (BERT-style classifiers) still get a mask.
* The sequence-classification head pools the last non-pad token. The formatter strips trailing pad ids,
  and the pad id is set on the config, so that token is the last real one whatever the tokenizer's own
  padding side, and also when pad == eos.
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
    ):
        import torch

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
                logits = self.model(input_ids=input_ids.to(self.device), attention_mask=attention_mask).logits
                for index, value in zip(batch, logits[:, 0].float().tolist(), strict=True):
                    scores[index] = value
        return scores

    def close(self) -> None:
        import torch

        del self.model
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
