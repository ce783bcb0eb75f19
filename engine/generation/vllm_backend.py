"""Generation with vLLM's offline engine: `SamplingParams(n=N)` with prefix caching.

The prompt goes in as token ids from our own tokenizer call, exactly as the transformers backend encodes
it. vLLM cuts stop strings from the text itself and reports the raw log-probability of each sampled token.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from engine.generation.base import Generator, Sample, SamplingOptions, split_stops
from engine.reward.model_source import check_causal_lm, default_dtype, load_tokenizer


class VllmGenerator(Generator):
    """A causal LM in an in-process vLLM engine; extra keyword arguments go to `vllm.LLM`."""

    def __init__(
        self, model: str, *, dtype: str | None = None, max_model_len: int = 4096, **engine_args: Any
    ):
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        import torch
        from vllm import LLM

        check_causal_lm(model)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = load_tokenizer(model)
        engine_args.setdefault("enforce_eager", device == "cpu")
        engine_args.setdefault("enable_prefix_caching", True)
        self.llm = LLM(
            model=model, dtype=dtype or default_dtype(device), max_model_len=max_model_len, **engine_args
        )

    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        from vllm import SamplingParams

        stop_ids, stop_texts = split_stops(self.tokenizer, options.stop)
        params = SamplingParams(
            n=options.n,
            max_tokens=options.max_new_tokens,
            temperature=options.temperature,
            top_p=options.top_p if options.temperature > 0 else 1.0,
            stop=stop_texts or None,
            stop_token_ids=stop_ids or None,
            seed=options.seed,
            logprobs=1,
        )
        ids = self.tokenizer(prompt)["input_ids"]
        (result,) = self.llm.generate([{"prompt_token_ids": ids}], params, use_tqdm=False)
        samples = []
        for output in sorted(result.outputs, key=lambda o: o.index):
            steps = output.logprobs or []
            logprobs = tuple(
                step[token].logprob for step, token in zip(steps, output.token_ids, strict=False)
            )
            samples.append(
                Sample(output.text, logprobs, "length" if output.finish_reason == "length" else "stop")
            )
        return samples

    def close(self) -> None:
        del self.llm
