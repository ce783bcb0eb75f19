"""Generation in-process with `transformers`.

All N samples decode together in one `generate` call. The prompt is encoded once, for one row, and its
KV cache repeated for the N rows before `generate` runs: `num_return_sequences=N` would encode it N
times, which on a CPU with a real model and a 2,000-token context costs seconds per request.
Log-probabilities are taken from the raw logits (`output_logits`), not the temperature-warped scores, so
"mean token log-prob" means the model's own confidence whatever the sampling settings. A seed is applied inside a forked RNG, leaving the caller's random state alone.
"""

from __future__ import annotations

import threading
from typing import Any

from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions, cut_at_stop, split_stops
from engine.reward.model_source import check_causal_lm, default_dtype, load_tokenizer


def _cancel_criteria(cancel: threading.Event | None) -> Any:
    """A stopping criterion that ends generation at the next token once `cancel` is set."""
    if cancel is None:
        return None
    from transformers import StoppingCriteria, StoppingCriteriaList

    class OnCancel(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            return torch.full(
                (input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return StoppingCriteriaList([OnCancel()])


class TransformersGenerator(Generator):
    """An `AutoModelForCausalLM` in this process (CUDA when available)."""

    def __init__(self, model: Any, tokenizer: Any, graph_decode: bool = False, max_cache_len: int = 4096):
        """`graph_decode` samples with `GraphSampler` (static KV cache, one compiled call per step; for
        CUDA, where per-step overhead dominates short completions) instead of `generate()`."""
        self.model = model.eval()
        self.graph_decode = graph_decode
        self.max_cache_len = max_cache_len
        self._samplers: dict[int, Any] = {}  # one per N: a sampler's cache and graphs are sized for its N
        self._stop_tokens: dict[str, set[int]] = {}  # stop text -> ids of the tokens that contain it
        self.tokenizer = tokenizer
        self.device = str(next(model.parameters()).device)
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )

    @classmethod
    def from_pretrained(
        cls, model: str, *, dtype: str | None = None, device: str | None = None, graph_decode: bool = False
    ) -> TransformersGenerator:
        import torch
        from transformers import AutoModelForCausalLM

        check_causal_lm(model)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tokenizer = load_tokenizer(model)
        loaded = AutoModelForCausalLM.from_pretrained(
            model, dtype=getattr(torch, dtype or default_dtype(device))
        )
        return cls(loaded.to(device), tokenizer, graph_decode=graph_decode)

    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        import torch

        stop_ids, stop_texts = split_stops(self.tokenizer, options.stop)
        ends = {self.tokenizer.eos_token_id, *stop_ids}
        if self.graph_decode and options.temperature > 0:
            prompt_ids = self.tokenizer(prompt)["input_ids"]
            tokens, logprobs = self._sampler(options.n).sample(
                prompt_ids,
                options.n,
                options.max_new_tokens,
                options.temperature,
                options.top_p,
                options.seed,
                cancel,
                stop_ids=sorted(
                    {*self._tokens_containing(stop_texts), *(end for end in ends if end is not None)}
                ),
            )
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            return [
                self._sample(tokens[i].tolist(), logprobs[i].tolist(), ends, stop_texts)
                for i in range(options.n)
            ]
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        prompt_length = inputs["input_ids"].shape[1]
        rows = {key: value.repeat(options.n, 1) for key, value in inputs.items()}
        sampling = {"do_sample": False}
        if options.temperature > 0:
            sampling = {"do_sample": True, "temperature": options.temperature, "top_p": options.top_p}
        devices = [torch.cuda.current_device()] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if options.seed is not None:
                torch.manual_seed(options.seed)
            output = self.model.generate(
                **rows,
                **sampling,
                past_key_values=self._prompt_cache(inputs["input_ids"], options.n),
                max_new_tokens=options.max_new_tokens,
                stop_strings=stop_texts or None,
                eos_token_id=[self.tokenizer.eos_token_id, *stop_ids],
                tokenizer=self.tokenizer,
                pad_token_id=self.pad_token_id,
                return_dict_in_generate=True,
                output_logits=True,
                stopping_criteria=_cancel_criteria(cancel),
            )
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        with torch.inference_mode():
            new_tokens = output.sequences[:, prompt_length:]
            steps = torch.stack(output.logits, dim=1).float().log_softmax(-1)  # (n, steps, vocab)
            logprobs = steps.gather(-1, new_tokens[:, : steps.shape[1], None]).squeeze(-1)
        return [
            self._sample(new_tokens[i].tolist(), logprobs[i].tolist(), ends, stop_texts)
            for i in range(options.n)
        ]

    def _tokens_containing(self, texts: list[str]) -> set[int]:
        """Ids of the tokens whose text holds one of `texts`: a row that drew one will be cut there, so
        the sampler may stop early for it. This is what lets single-line mode (stop "\\n") end decoding
        after the line rather than at max_new_tokens. A stop spread over several tokens is still cut from
        the text afterwards; it only does not end decoding early."""
        missing = [text for text in texts if text not in self._stop_tokens]
        if missing:
            # decoded as samples are (`_decode`): special tokens are no text, so they never hold a stop
            ids = [[i] for i in range(len(self.tokenizer))]
            vocabulary = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
            for text in missing:
                self._stop_tokens[text] = {i for i, piece in enumerate(vocabulary) if text in piece}
        return {i for text in texts for i in self._stop_tokens[text]}

    def _sampler(self, n: int) -> Any:
        if n not in self._samplers:
            from engine.generation.graph_sampler import GraphSampler

            on_cuda = self.device.startswith("cuda")
            self._samplers[n] = GraphSampler(self.model, max_cache_len=self.max_cache_len, compile=on_cuda)
        return self._samplers[n]

    def warm_up(self, n: int) -> bool:
        """With graph decode, compile and capture the decode step for `n` rows (about a minute on a GPU)
        with a two-token sample of a short prompt: the graph does not depend on the prompt's length."""
        if not self.graph_decode:
            return False
        self._tokens_containing(["\n"])  # single-line mode's stop, read from the vocabulary once
        prompt = self.tokenizer("def main():\n    return")["input_ids"]
        for _ in range(2):  # the first call compiles; the second records the CUDA graph
            self._sampler(n).sample(prompt, n, 3, seed=0)
        return True

    def _prompt_cache(self, input_ids: Any, n: int) -> Any:
        """The keys and values of all but the prompt's last token, computed once and repeated for `n` rows
        (`generate` feeds the last token itself, to get the first logits)."""
        from transformers import DynamicCache

        from engine.generation.prompt_cache import encode_once

        if input_ids.shape[1] == 1:
            return DynamicCache(config=self.model.config)  # nothing before the last token
        cache, _ = encode_once(self.model, input_ids[:, :-1])
        for layer in cache.layers:
            layer.batch_repeat_interleave(n)
        return cache

    def _sample(self, tokens: list[int], logprobs: list[float], ends: set[int], stop: list[str]) -> Sample:
        end = next((k for k, token in enumerate(tokens) if token in ends), None)
        tokens = tokens if end is None else tokens[:end]
        text, stopped = cut_at_stop(self._decode(tokens), stop)
        kept = len(tokens)
        if stopped:  # the fewest tokens that still spell out the kept text
            kept = next(k for k in range(len(tokens) + 1) if len(self._decode(tokens[:k])) >= len(text))
        reason = "stop" if end is not None or stopped else "length"
        return Sample(text, tuple(logprobs[:kept]), reason)

    def _decode(self, tokens: list[int]) -> str:
        # Special tokens are left out of the text, as vLLM and OpenAI-style servers do.
        return self.tokenizer.decode(tokens, skip_special_tokens=True)
