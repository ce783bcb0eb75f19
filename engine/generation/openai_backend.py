"""Generation through any OpenAI-compatible `/v1/completions` server (vLLM serve, llama.cpp, Ollama).

One request with `n` gets all samples, so the server shares the prompt. A server that answers fewer
choices than asked (llama.cpp's server answers one whatever `n` says) is asked again, one sample per
request, for the rest (those requests sent at once), and from then on asked for one at a time. The FIM prompt is rendered here
(vLLM rejects `suffix` for most models), which is why a tokenizer for the served model is still needed
locally: it decides the FIM template and the context budget.
"""

from __future__ import annotations

import threading

from engine.errors import CodescalerError
from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions, split_stops
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
        self.served_model_name = served_model_name or self.http.only_served_model("--policy-served-name")
        self.one_choice_per_request = False

    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        if self.one_choice_per_request:
            return self._one_each(prompt, options, 0, cancel)
        samples = self._request(prompt, options, options.n, options.seed)
        if len(samples) >= options.n:
            return samples[: options.n]
        self.one_choice_per_request = True
        return samples + self._one_each(prompt, options, len(samples), cancel)

    def _one_each(
        self, prompt: str, options: SamplingOptions, start: int, cancel: threading.Event | None
    ) -> list[Sample]:
        """Samples `start`..n-1, one request each with its own seed, sent side by side: the server runs
        as many at once as it has slots (llama.cpp's `-np`)."""
        from concurrent.futures import ThreadPoolExecutor

        if cancel is not None and cancel.is_set():
            raise Cancelled()
        seeds = [
            None if options.seed is None else (options.seed + i) % 2**64 for i in range(start, options.n)
        ]
        with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
            answers = list(pool.map(lambda seed: self._request(prompt, options, 1, seed), seeds))
        if not all(answers):
            raise CodescalerError(f"the completion server {self.http.url} answered no choices")
        return [answer[0] for answer in answers]

    def _request(self, prompt: str, options: SamplingOptions, n: int, seed: int | None) -> list[Sample]:
        body: dict = {
            "model": self.served_model_name,
            "prompt": prompt,
            "n": n,
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
        if seed is not None:
            body["seed"] = seed
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
