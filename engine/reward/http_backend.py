"""Reward scoring through a running vLLM server's `/classify` endpoint.

Start the server with `--runner pooling` (see the README). The formatter runs here, with the model's
tokenizer, and the server receives token ids with `use_activation: false`, so its numbers are the raw
logits the other backends return. Transient failures (connection refused while the server restarts,
5xx, 429) are retried with exponential backoff; everything else fails at once with the server's message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from engine.errors import CodescalerError, first_line
from engine.reward.formatter import DEFAULT_MAX_TOKENS, RewardFormatter
from engine.reward.model_source import load_tokenizer
from engine.reward.scorer import RewardScorer

RETRIED_STATUS = {429, 500, 502, 503, 504}


def _server_message(response: Any) -> str:
    """The error text of a vLLM/FastAPI error body (`error.message` or `detail`), else the raw body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error or body.get("detail")
        if message:
            return str(message).replace("\n", " ")[:300]
    return response.text.strip().replace("\n", " ")[:300]


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
        import httpx

        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)
        self.formatter = RewardFormatter(load_tokenizer(model), max_tokens)
        self.served_model_name = served_model_name or self._only_served_model()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise CodescalerError(
                        f"cannot reach the reward server at {self.url}{path}: {first_line(exc)}; "
                        "is it running, and is --url right?"
                    ) from exc
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code not in RETRIED_STATUS or last:
                    raise CodescalerError(self._explain(path, response))
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _explain(self, path: str, response: Any) -> str:
        detail = _server_message(response)
        if response.status_code == 404 and path == "/classify" and detail == "Not Found":
            return (
                f"{self.url} has no /classify endpoint (404): start vLLM with --runner pooling "
                "on a sequence-classification model"
            )
        if response.status_code == 401:
            return f"{self.url} refused the request (401 unauthorized): pass the server's API key"
        return f"reward server {self.url}{path} answered {response.status_code}: {detail}"

    def _only_served_model(self) -> str:
        models = [entry["id"] for entry in self._request("GET", "/v1/models").get("data", [])]
        if len(models) != 1:
            raise CodescalerError(
                f"{self.url} serves {len(models)} models ({', '.join(models) or 'none'}): "
                "name the one to use with served_model_name"
            )
        return models[0]

    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(token_ids), self.batch_size):
            batch = [list(ids) for ids in token_ids[start : start + self.batch_size]]
            body = {"model": self.served_model_name, "input": batch, "use_activation": False}
            data = sorted(
                self._request("POST", "/classify", json=body)["data"], key=lambda item: item["index"]
            )
            if len(data) != len(batch):
                raise CodescalerError(
                    f"reward server {self.url} returned {len(data)} scores for {len(batch)} inputs"
                )
            scores.extend(float(item["probs"][0]) for item in data)
        return scores

    def close(self) -> None:
        self._client.close()
