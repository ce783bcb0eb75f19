"""One interface over the three scoring backends.

`score(queries)` returns raw reward-model logits, one per (question, code) query. Every backend formats its
inputs with the same `RewardFormatter` and differs only in how token ids become logits, which is what lets
the parity test demand agreement to 1e-4 across transformers, offline vLLM and a vLLM server.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

from engine.errors import CodescalerError
from engine.reward.formatter import DEFAULT_MAX_TOKENS, RewardFormatter, RewardInput

RewardQuery = tuple[str, str]
"""(question, code): what the code must do, and the program."""

Backend = Literal["transformers", "vllm", "http"]
BACKENDS: tuple[str, ...] = ("transformers", "vllm", "http")


class RewardScorer(ABC):
    """A reward model that scores (question, code) queries."""

    formatter: RewardFormatter

    def format(self, queries: Sequence[RewardQuery]) -> list[RewardInput]:
        """The model inputs for `queries`, with what the token budget cut from each."""
        return [self.formatter(question, code) for question, code in queries]

    def score(self, queries: Sequence[RewardQuery]) -> list[float]:
        """Raw scores (unbounded logits, not probabilities) in the order of `queries`."""
        return self.score_inputs(self.format(queries))

    def score_inputs(self, inputs: Sequence[RewardInput]) -> list[float]:
        """Raw scores for inputs already formatted by `format`."""
        if not inputs:
            return []
        return self.score_token_ids([item.token_ids for item in inputs])

    @abstractmethod
    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        """Raw scores for formatted token id sequences, in order."""

    def close(self) -> None:  # noqa: B027 (a no-op unless the backend holds something)
        """Release the model or connection; the scorer is unusable afterwards."""

    def __enter__(self) -> RewardScorer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def load_scorer(
    model: str,
    backend: Backend = "transformers",
    *,
    url: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    dtype: str | None = None,
    device: str | None = None,
    api_key: str | None = None,
    served_name: str | None = None,
) -> RewardScorer:
    """A scorer for `model` (local folder or hub id) on the chosen backend.

    `dtype`/`device` default to bf16 on CUDA and float32 on CPU; `url` is required for `http`. `bundled`
    names the reward model shipped in the package.
    """
    from engine.default_models import BUNDLED, resolve
    from engine.hub import check_available

    model = resolve(model, "reward") if model == BUNDLED else model
    if backend not in BACKENDS:
        raise CodescalerError(f"unknown scoring backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "http" and not url:
        raise CodescalerError("the http backend needs the server's URL: pass --reward-url http://HOST:PORT")
    check_available(model, "--reward-model")
    if backend == "transformers":
        from engine.reward.transformers_backend import TransformersScorer

        return TransformersScorer.from_pretrained(model, max_tokens=max_tokens, dtype=dtype, device=device)
    if backend == "vllm":
        from engine.reward.vllm_backend import VllmScorer

        return VllmScorer(model, max_tokens=max_tokens, dtype=dtype)
    from engine.reward.http_backend import HttpScorer

    return HttpScorer(url, model, max_tokens=max_tokens, api_key=api_key, served_model_name=served_name)  # type: ignore[arg-type]
