"""The first half of ranking at a cursor: what the policy offers there, cleaned and checked, not scored.

Serving ranks these (`BestOfN.complete`); curation of completion pairs verifies them in the sandbox
(`training/fim_curation.py`). Both go through `CursorSampler`, so a fill a reward model is trained on
is exactly one the editor would have ranked: same FIM prompt, same line mode, same cleaning, same
validity in place and the same reward input.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from engine.cleaning.pipeline import clean
from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions
from engine.prompts.builder import fim_prompt
from engine.prompts.fim import fim_template
from engine.protocol import ContextSnippet, RankOptions
from engine.reward.scorer import RewardQuery
from engine.syntax.insertion import ParsedDocument
from engine.syntax.line_mode import line_mode
from engine.syntax.validity import SyntaxCheck

DEFAULT_OPTIONS = RankOptions()


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def sample(
    generator: Generator,
    prompt_text: str,
    stop: tuple[str, ...],
    options: RankOptions,
    cancel: threading.Event | None,
) -> list[Sample]:
    sampling = SamplingOptions(
        n=options.n,
        max_new_tokens=options.max_new_tokens,
        temperature=options.temperature,
        top_p=options.top_p,
        stop=stop,
        seed=options.seed,
    )
    return generator.generate(prompt_text, sampling, cancel)


@dataclass(frozen=True)
class CursorCandidates:
    """Aligned `completions`, their validity `checks` in the document and the reward model's `queries`;
    what cleaning dropped, how many samples were drawn, and the line mode used."""

    completions: list[Completion]
    checks: list[SyntaxCheck]
    queries: list[RewardQuery]
    dropped: dict[str, int]
    generated: int
    line_mode: str
    context: tuple[ContextSnippet, ...] = ()  # the repository snippets the prompt carried


def from_samples(
    context: DocumentContext,
    samples: list[Sample],
    mode: str,
    timings: dict[str, float] | None = None,
) -> CursorCandidates:
    """Samples already drawn at the cursor of `context` (cut at their stops), cleaned, checked in place
    and turned into reward inputs: what the editor does after generation, for rollouts drawn elsewhere
    (RL) as for its own."""
    timings = {} if timings is None else timings
    with timed(timings, "cleaning"):
        raw = [Completion(s.text, 0, s.logprobs, s.finish_reason, i) for i, s in enumerate(samples)]
        cleaned = clean(raw, context)
    with timed(timings, "validation"):
        document = ParsedDocument.parse(context)
        checks = [document.check(c) for c in cleaned.completions]
        queries = [editor_reward_pair(context, c, tree=document.insert(c)) for c in cleaned.completions]
    return CursorCandidates(
        list(cleaned.completions), checks, queries, dict(cleaned.dropped), len(samples), mode
    )


def stops_for(prompt_stop: tuple[str, ...], mode: str) -> tuple[str, ...]:
    """The stop strings of a sample at the cursor: the FIM template's, and the line end in single-line mode."""
    return (*prompt_stop, "\n") if mode == "single" else prompt_stop


class CursorSampler:
    """A policy ready to offer candidates at a cursor (its FIM template read once from its tokenizer)."""

    def __init__(self, generator: Generator, fim_template_name: str | None = None):
        self.generator = generator
        self.fim_template_name = fim_template_name
        self._fim = None

    def candidates(
        self,
        context: DocumentContext,
        options: RankOptions = DEFAULT_OPTIONS,
        cancel: threading.Event | None = None,
        timings: dict[str, float] | None = None,
    ) -> CursorCandidates:
        """FIM prompt, N samples, cleaning, validity in place and the reward inputs; each stage's time
        is added to `timings`."""
        timings = {} if timings is None else timings
        mode = line_mode(context) if options.line_mode == "auto" else options.line_mode
        with timed(timings, "generation"):
            prompt = fim_prompt(
                context, self.fim(), self.generator.tokenizer, context_share=options.context_share
            )
            samples = sample(self.generator, prompt.text, stops_for(prompt.stop, mode), options, cancel)
        check_cancel(cancel)
        found = from_samples(replace(context, repo=prompt.context), samples, mode, timings)
        return replace(found, context=prompt.context)

    def fim(self) -> Any:
        """The policy's FIM template (read from its tokenizer on first use)."""
        if self._fim is None:
            self._fim = fim_template(self.fim_template_name, self.generator.tokenizer)
        return self._fim
