"""One interface over the generation backends.

`generate(prompt, n, ...)` returns N samples of one prompt with the sampled tokens' log-probabilities
and why each stopped. All N come from one batched call that shares the prompt (HF
`num_return_sequences`, vLLM `n`, the server's `n`): several candidates should cost about the latency of
one, which is what makes best-of-N affordable in an editor.

Stop sequences are cut from the returned text (the text ends before the stop string), as OpenAI-style
servers do, so every backend returns the same shape.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

FinishReason = Literal["stop", "length"]


class Cancelled(Exception):
    """The caller cancelled the request while its model work was running."""


@dataclass(frozen=True)
class Sample:
    """One generated continuation."""

    text: str
    logprobs: tuple[float, ...] = field(default=(), repr=False)
    finish_reason: FinishReason = "stop"


@dataclass(frozen=True)
class SamplingOptions:
    """How to sample. `temperature` 0 means greedy; `seed` makes a request reproducible."""

    n: int = 8
    max_new_tokens: int = 64
    temperature: float = 0.8
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the earliest stop string, and whether one was found."""
    positions = [text.find(s) for s in stop if s and s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True


def split_stops(tokenizer: Any, stop: Sequence[str]) -> tuple[list[int], list[str]]:
    """Stop sequences that are single special tokens (as ids), and the rest (as text).

    Special tokens do not appear in decoded text, so they must stop generation by id.
    """
    special = set(getattr(tokenizer, "all_special_tokens", ()))
    ids, texts = [], []
    for item in stop:
        token_id = tokenizer.convert_tokens_to_ids(item) if item in special else None
        if isinstance(token_id, int) and token_id >= 0:
            ids.append(token_id)
        else:
            texts.append(item)
    return ids, texts


class Generator(ABC):
    """A causal LM that samples continuations of a prompt."""

    tokenizer: Any

    def generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None = None
    ) -> list[Sample]:
        """`options.n` samples continuing `prompt`; setting `cancel` stops the work early where the
        backend can (then `Cancelled` is raised).

        Greedy decoding (temperature 0) gives N identical samples, so it runs once and is repeated: the
        backends reject n > 1 without sampling.
        """
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if options.temperature <= 0 and options.n > 1:
            return self._generate(prompt, replace(options, n=1), cancel) * options.n
        return self._generate(prompt, options, cancel)

    @abstractmethod
    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        """The backend's own batched sampling call."""

    def warm_up(self, n: int) -> bool:
        """Do the slow one-time work of sampling `n` at a time (compiling, capturing graphs) now, before a
        user waits on it; False when the backend has none."""
        return False

    def close(self) -> None:  # noqa: B027 (a no-op unless the backend holds something)
        """Release the model or connection."""

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


GENERATION_BACKENDS: tuple[str, ...] = ("transformers", "vllm", "openai")


def load_generator(
    model: str,
    backend: str = "transformers",
    *,
    url: str | None = None,
    api_key: str | None = None,
    dtype: str | None = None,
    device: str | None = None,
    graph_decode: bool = False,
    served_name: str | None = None,
) -> Generator:
    """A generator for `model` (local folder or hub id; for `openai`, the tokenizer of the served model).

    `graph_decode` (transformers backend) samples with the CUDA-graph sampler: faster on a GPU after a
    compile of about a minute at the first request. `bundled` names the policy shipped in the package."""
    from engine.default_models import BUNDLED, resolve
    from engine.errors import CodescalerError
    from engine.hub import check_available

    model = resolve(model, "policy") if model == BUNDLED else model
    if backend not in GENERATION_BACKENDS:
        raise CodescalerError(
            f"unknown generation backend {backend!r}: use one of {', '.join(GENERATION_BACKENDS)}"
        )
    if backend == "openai" and not url:
        raise CodescalerError("the openai backend needs the server's URL: pass --policy-url http://HOST:PORT")
    check_available(model, "--policy")
    if backend == "transformers":
        from engine.generation.transformers_backend import TransformersGenerator

        return TransformersGenerator.from_pretrained(
            model, dtype=dtype, device=device, graph_decode=graph_decode
        )
    if backend == "vllm":
        from engine.generation.vllm_backend import VllmGenerator

        return VllmGenerator(model, dtype=dtype)
    from engine.generation.openai_backend import OpenAICompletionsGenerator

    return OpenAICompletionsGenerator(url, model, api_key=api_key, served_model_name=served_name)  # type: ignore[arg-type]
