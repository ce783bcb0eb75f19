"""Best-of-N sampling on CUDA with one captured graph per decode step.

`generate()` spends most of a short completion in per-step Python work (logits processors, stopping
criteria, cache bookkeeping), not in the model: on an H200 a Qwen3-0.6B-shaped policy takes 4 ms a step
even for one greedy sequence. Editors need N candidates in a few hundred milliseconds, so this sampler:

- prefills the prompt once, for one row (`prompt_cache.encode_once`), and copies its KV cache into the
  N rows of a static cache;
- runs each decode step (forward, temperature/top-k/top-p draw, log-probability of the drawn token) as
  one compiled function that CUDA graphs replay. The nucleus is taken inside the top-k tokens (50 by
  default, as `generate()` does), so the sort and the running mass cover k tokens, not the vocabulary:
  Inductor could not generate the vocabulary-wide cumulative sum, and a full sort per step was the
  largest eager cost;
- draws the uniform noise of all steps in one call before decoding, which keeps every draw a pure
  function of the seed;
- stops early, checking every few steps (one device sync each), once every row has produced a stop token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import CodescalerError

TOP_K = 50  # as transformers' `generate()` defaults; more than the nucleus of any confident code model
STOP_CHECK_EVERY = 8  # decode steps between checks for "all rows stopped" (each check syncs the device)


def draw_top_p(logits: Any, temperature: Any, top_p: Any, noise: Any) -> Any:
    """Token ids drawn from softmax(logits / temperature) within the top-k tokens' top-p nucleus, where k
    is `noise`'s last dimension.

    The Gumbel-max trick with caller-provided uniform `noise` makes the draw a pure function of its inputs
    (graph-capturable and seedable). `temperature` and `top_p` may be floats or 0-d tensors (tensors keep
    a compiled step from recompiling for each new value).
    """
    import torch

    k = noise.shape[-1]
    top_logits, top_ids = (logits.float() / temperature).topk(k, dim=-1)
    probs = top_logits.softmax(-1)
    # The mass before each token, as a product with a triangular matrix rather than a cumulative sum: a
    # k x k product is nothing at k = 50, and Inductor's scan code generation is what failed before.
    earlier = torch.ones(k, k, device=probs.device).triu(1)  # earlier[j, i] = 1 when j < i
    outside = probs @ earlier > top_p  # keep the smallest prefix whose mass reaches top_p
    gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)))
    choice = (top_logits.masked_fill(outside, float("-inf")) + gumbel).argmax(-1, keepdim=True)
    return top_ids.gather(-1, choice).squeeze(-1)


def token_logprob(logits: Any, token: Any) -> Any:
    """The model's own (unwarped) log-probability of `token` in each row."""
    logits = logits.float()
    return logits.gather(-1, token[:, None]).squeeze(-1) - logits.logsumexp(-1)


class GraphSampler:
    """N samples of one prompt from a causal LM, each decode step a single compiled call."""

    def __init__(self, model: Any, max_cache_len: int = 4096, compile: bool = True, top_k: int = TOP_K):
        import torch
        from transformers import StaticCache

        self.model = model.eval()
        self.max_cache_len = max_cache_len
        self.top_k = min(top_k, model.config.vocab_size)
        self.cache = StaticCache(config=model.config, max_cache_len=max_cache_len)
        if any(layer.is_sliding for layer in self.cache.layers):  # its rolling window would need other copies
            raise CodescalerError(
                "graph decode supports models with full attention in every layer; this one has sliding-window "
                "layers: turn graph_decode off"
            )
        self.rows: int | None = None  # the cache's batch size is fixed by its first prefill
        self._step = (
            torch.compile(self._decode_step, mode="reduce-overhead") if compile else self._decode_step
        )

    def _decode_step(self, tokens: Any, position: Any, noise: Any, temperature: Any, top_p: Any) -> Any:
        """The next token of every row and its log-probability (the part CUDA graphs replay)."""
        logits = self.model(
            input_ids=tokens[:, None], position_ids=position[:, None], cache_position=position[:1],
            past_key_values=self.cache, use_cache=True,
        ).logits[:, -1]  # fmt: skip
        token = draw_top_p(logits, temperature, top_p, noise)
        return token, token_logprob(logits, token)

    def _prefill(self, prompt_ids: list[int], n: int, device: Any) -> Any:
        """Last-position logits of the prompt, repeated for the N rows, with the prompt's keys and values
        written into each row of the static cache. The prompt is encoded once."""
        import torch

        from engine.generation.prompt_cache import encode_once

        once, logits = encode_once(self.model, torch.tensor([prompt_ids], device=device))
        self.cache.reset()
        for shared, layer in zip(once.layers, self.cache.layers, strict=True):
            keys, values = shared.keys.expand(n, -1, -1, -1), shared.values.expand(n, -1, -1, -1)
            if not layer.is_initialized:
                layer.lazy_initialization(keys, values)
            layer.keys[:, :, : len(prompt_ids)].copy_(keys)
            layer.values[:, :, : len(prompt_ids)].copy_(values)
            layer.cumulative_length.fill_(len(prompt_ids))
        return logits.expand(n, -1)

    def sample(self, prompt_ids: list[int], n: int, max_new_tokens: int, temperature: float = 0.8,
               top_p: float = 0.95, seed: int | None = None, cancel: Any = None,
               stop_ids: Sequence[int] = (), check_every: int = STOP_CHECK_EVERY) -> tuple[Any, Any]:  # fmt: skip
        """(tokens, logprobs), each (n, steps) with steps <= max_new_tokens; the caller cuts each row at
        its first stop token. Decoding ends early once every row holds one of `stop_ids` (checked every
        `check_every` steps). Setting the `cancel` event stops at the next step (the outputs are then
        partial)."""
        import torch

        device = next(self.model.parameters()).device
        length = len(prompt_ids)
        if self.rows not in (None, n):
            raise ValueError(
                f"this sampler draws {self.rows} samples per prompt (its cache is sized for it), not {n}"
            )
        self.rows = n
        if length + max_new_tokens > self.max_cache_len:
            raise ValueError(
                f"prompt ({length}) + new tokens ({max_new_tokens}) exceed the cache ({self.max_cache_len})"
            )
        generator = torch.Generator(device=device)
        if seed is not None:
            generator.manual_seed(seed)
        noise = torch.rand((max_new_tokens, n, self.top_k), device=device, generator=generator)
        warp = torch.tensor(temperature, device=device), torch.tensor(top_p, device=device)
        positions = torch.arange(length, length + max_new_tokens, device=device)[:, None].repeat(1, n)
        stops = torch.tensor(list(stop_ids), dtype=torch.long, device=device)
        tokens_out = torch.empty((n, max_new_tokens), dtype=torch.long, device=device)
        logprobs_out = torch.empty((n, max_new_tokens), dtype=torch.float32, device=device)
        with torch.inference_mode():
            logits = self._prefill(prompt_ids, n, device)
            token = draw_top_p(logits, *warp, noise[0])
            tokens_out[:, 0], logprobs_out[:, 0] = token, token_logprob(logits, token)
            steps = 1
            while steps < max_new_tokens and not (cancel is not None and cancel.is_set()):
                check = len(stops) and steps % check_every == 0
                if check and torch.isin(tokens_out[:, :steps], stops).any(-1).all():
                    break
                token, logprob = self._step(token.clone(), positions[steps - 1], noise[steps], *warp)
                tokens_out[:, steps], logprobs_out[:, steps] = token, logprob
                steps += 1
        return tokens_out[:, :steps], logprobs_out[:, :steps]
