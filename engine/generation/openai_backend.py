"""Generation through any OpenAI-compatible `/v1/completions` server (vLLM serve, llama.cpp, Ollama).

One request with `n` gets all samples, so the server shares the prompt. The FIM prompt is rendered here
(vLLM rejects `suffix` for most models), which is why a tokenizer for the served model is still needed
locally: it decides the FIM template and the context budget.
"""

from __future__ import annotations

import threading

from engine.generation.base import Generator, Sample, SamplingOptions, split_stops
from engine.http_client import JsonHttpClient
from engine.reward.model_source import load_tokenizer

MAX_STOP_STRINGS = 4  # the OpenAI completions schema (and vLLM's validation) allows at most four


class OpenAICompletionsGenerator(Generator):
    """A completions server at `url` serving `served_model_name` (default: the only model it lists)."""

    def __init__(
        self,
        url: str,
        tokenizer_model: str,
        *,
        api_key: str | None = None,
        served_model_name: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 2,
        backoff_s: float = 0.5,
    ):
        self.http = JsonHttpClient(
            url,
            "completion server",
            api_key=api_key,
            timeout_s=timeout_s,
            retries=retries,
            backoff_s=backoff_s,
        )
        self.tokenizer = load_tokenizer(tokenizer_model)
        self.served_model_name = served_model_name or self.http.only_served_model()

    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        body: dict = {
            "model": self.served_model_name,
            "prompt": prompt,
            "n": options.n,
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p if options.temperature > 0 else 1.0,
            "logprobs": 1,
        }
        stop_ids, stop_texts = split_stops(self.tokenizer, options.stop)
        if stop_texts:
            body["stop"] = stop_texts[:MAX_STOP_STRINGS]
        if stop_ids:  # special tokens never appear in the text; vLLM stops on them by id
            body["stop_token_ids"] = stop_ids
        if options.seed is not None:
            body["seed"] = options.seed
        answer = self.http.request(
            "POST", "/v1/completions", json=body, explain_404="it is not a completions server"
        )
        samples = []
        for choice in sorted(answer.get("choices", []), key=lambda c: c.get("index", 0)):
            token_logprobs = (choice.get("logprobs") or {}).get("token_logprobs") or []
            reason = "length" if choice.get("finish_reason") == "length" else "stop"
            samples.append(
                Sample(choice.get("text", ""), tuple(x for x in token_logprobs if x is not None), reason)
            )
        return samples

    def close(self) -> None:
        self.http.close()
