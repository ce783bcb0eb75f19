"""Reward scoring through a running vLLM server's `/classify` endpoint.

Start the server with `--runner pooling` (see the README). The formatter runs here, with the model's
tokenizer, and the server receives token ids with `use_activation: false`, so its numbers are the raw
logits the other backends return. Transient failures (connection refused while the server restarts,
5xx, 429) are retried with exponential backoff; everything else fails at once with the server's message.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import CodescalerError
from engine.http_client import JsonHttpClient
from engine.reward.formatter import DEFAULT_MAX_TOKENS, RewardFormatter
from engine.reward.model_source import load_tokenizer
from engine.reward.scorer import RewardScorer


class HttpScorer(RewardScorer):
    """A reward model behind a vLLM-compatible `/classify` endpoint at `url`.

    `model` names the tokenizer to format with (local folder or hub id); the request's model name is
    `served_model_name` or, by default, the only model the server lists at `/v1/models`.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        api_key: str | None = None,
        served_model_name: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        batch_size: int = 64,
    ):
        self.http = JsonHttpClient(
            url, "reward server", api_key=api_key, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s
        )
        self.batch_size = batch_size
        self.formatter = RewardFormatter(load_tokenizer(model), max_tokens)
        self.served_model_name = served_model_name or self.http.only_served_model("--reward-served-name")

    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(token_ids), self.batch_size):
            batch = [list(ids) for ids in token_ids[start : start + self.batch_size]]
            body = {"model": self.served_model_name, "input": batch, "use_activation": False}
            answer = self.http.request(
                "POST",
                "/classify",
                json=body,
                explain_404="start vLLM with --runner pooling on a reward model",
            )
            data = sorted(answer["data"], key=lambda item: item["index"])
            if len(data) != len(batch):
                raise CodescalerError(
                    f"reward server {self.http.url} returned {len(data)} scores for {len(batch)} inputs"
                )
            scores.extend(float(item["probs"][0]) for item in data)
        return scores

    def close(self) -> None:
        self.http.close()
