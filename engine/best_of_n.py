"""Best-of-N: the product's core loop.

At a cursor: FIM prompt -> N samples in one batched call -> cleaning pipeline -> validity in place ->
reward model for the valid ones only (one batched call) -> shaping -> ranking.
For a problem statement: chat prompt -> N samples -> reference extraction -> syntax check -> the same
scoring, shaping and ranking.

Each stage is timed, so users and benchmarks can see where the latency goes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from engine.candidates import score_gated
from engine.cleaning.pipeline import clean
from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions
from engine.prompts.builder import fim_prompt, problem_prompt
from engine.prompts.fim import fim_template
from engine.ranking import RankedItem, rank_items
from engine.reward.scorer import Pair, RewardScorer
from engine.shaping import ShapingMode
from engine.syntax.extraction import extract_code
from engine.syntax.insertion import ParsedDocument
from engine.syntax.line_mode import line_mode
from engine.syntax.validity import SyntaxCheck, check_syntax


@dataclass(frozen=True)
class RankOptions:
    """Knobs of one best-of-N request."""

    n: int = 8
    max_new_tokens: int = 64
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int | None = None
    top_k: int | None = None
    threshold: float | None = None
    shaping: ShapingMode = "softplus"
    line_mode: Literal["auto", "single", "multi"] = "auto"


@dataclass
class RankResult:
    """Ranked candidates, plus where the time went and what the cleaning dropped."""

    items: list[RankedItem]
    timings: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    generated: int = 0
    line_mode: str | None = None


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _score_and_rank(
    scorer: RewardScorer,
    texts: Sequence[tuple[str, int, float | None, int]],
    checks: Sequence[SyntaxCheck],
    pairs: Sequence[Pair],
    options: RankOptions,
    timings: dict[str, float],
) -> list[RankedItem]:
    """texts: (text, replace_chars, mean logprob, sample index) per candidate, aligned with `checks` and
    `pairs`."""
    with _timed(timings, "scoring"):
        shaped = score_gated(scorer, pairs, checks, options.shaping)
    items = [
        RankedItem(
            text=text,
            valid=check.valid,
            reason=check.reason,
            score=one.score,
            reward=one.reward,
            mean_logprob=mean_logprob,
            replace_chars=replace_chars,
            sample=sample,
        )
        for (text, replace_chars, mean_logprob, sample), check, one in zip(texts, checks, shaped, strict=True)
    ]
    return rank_items(items, options.top_k, options.threshold)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


class BestOfN:
    """A policy and a reward model, ready to rank completions at a cursor or solutions to a problem."""

    def __init__(self, generator: Generator, scorer: RewardScorer, fim_template_name: str | None = None):
        self.generator = generator
        self.scorer = scorer
        self.fim_template_name = fim_template_name
        self._fim = None

    def _sample(
        self, prompt_text: str, stop: tuple[str, ...], options: RankOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        sampling = SamplingOptions(
            n=options.n,
            max_new_tokens=options.max_new_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            stop=stop,
            seed=options.seed,
        )
        return self.generator.generate(prompt_text, sampling, cancel)

    def complete(
        self,
        context: DocumentContext,
        options: RankOptions = RankOptions(),
        cancel: threading.Event | None = None,
    ) -> RankResult:
        """Ranked completions for the cursor in `context`; `cancel` stops the work between (and, for the
        transformers policy, within) stages by raising `Cancelled`."""
        timings: dict[str, float] = {}
        if self._fim is None:
            self._fim = fim_template(self.fim_template_name, self.generator.tokenizer)
        mode = line_mode(context) if options.line_mode == "auto" else options.line_mode
        with _timed(timings, "generation"):
            prompt = fim_prompt(context, self._fim, self.generator.tokenizer)
            stop = (*prompt.stop, "\n") if mode == "single" else prompt.stop
            samples = self._sample(prompt.text, stop, options, cancel)
        _check(cancel)
        with _timed(timings, "cleaning"):
            raw = [Completion(s.text, 0, s.logprobs, s.finish_reason, i) for i, s in enumerate(samples)]
            cleaned = clean(raw, context)
        with _timed(timings, "validation"):
            document = ParsedDocument.parse(context)
            checks = [document.check(c) for c in cleaned.completions]
            pairs = [editor_reward_pair(context, c, tree=document.insert(c)) for c in cleaned.completions]
        _check(cancel)
        texts = [(c.text, c.replace_chars, c.mean_logprob, c.index) for c in cleaned.completions]
        items = _score_and_rank(self.scorer, texts, checks, pairs, options, timings)
        return RankResult(items, timings, dict(cleaned.dropped), len(samples), mode)

    def solve(
        self,
        problem: str,
        language: str = "python",
        options: RankOptions = RankOptions(),
        cancel: threading.Event | None = None,
    ) -> RankResult:
        """Ranked solutions to a problem statement (code extracted by the reference rule)."""
        timings: dict[str, float] = {}
        with _timed(timings, "generation"):
            prompt = problem_prompt(problem, self.generator.tokenizer, language)
            samples = self._sample(prompt.text, prompt.stop, options, cancel)
        _check(cancel)
        with _timed(timings, "validation"):
            extracted = [extract_code(s.text) for s in samples]
            checks = [check_syntax(e.code, e.tag or language) for e in extracted]
        texts = [
            (e.code, 0, _mean(s.logprobs), i) for i, (e, s) in enumerate(zip(extracted, samples, strict=True))
        ]
        pairs = [(problem, e.code) for e in extracted]
        items = _score_and_rank(self.scorer, texts, checks, pairs, options, timings)
        return RankResult(items, timings, {}, len(samples))
