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

from engine.candidates import score_gated
from engine.cleaning.pipeline import clean
from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions
from engine.prompts.builder import fim_prompt, problem_prompt
from engine.prompts.fim import fim_template
from engine.protocol import RankOptions, RankRequest, RankResult, ScoredCompletion
from engine.ranking import rank_completions
from engine.reward.scorer import RewardQuery, RewardScorer
from engine.syntax.extraction import extract_code
from engine.syntax.insertion import ParsedDocument
from engine.syntax.line_mode import line_mode
from engine.syntax.validity import SyntaxCheck, check_syntax

DEFAULT_OPTIONS = RankOptions()


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _score_and_rank(
    scorer: RewardScorer,
    completions: Sequence[Completion],
    checks: Sequence[SyntaxCheck],
    queries: Sequence[RewardQuery],
    options: RankOptions,
    timings: dict[str, float],
    dropped: dict[str, int],
) -> list[ScoredCompletion]:
    """`completions`, `checks` and the reward model's `queries` are aligned, one per candidate; what the
    ranking leaves out is counted in `dropped`."""
    with _timed(timings, "scoring"):
        shaped = score_gated(scorer, queries, checks, options.shaping)
    items = [
        ScoredCompletion(
            text=completion.text,
            valid=check.valid,
            reason=check.reason,
            score=one.score,
            reward=one.reward,
            mean_logprob=completion.mean_logprob,
            replace_chars=completion.replace_chars,
            sample=completion.index,
        )
        for completion, check, one in zip(completions, checks, shaped, strict=True)
    ]
    return rank_completions(items, options.top_k, options.threshold, dropped)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


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

    def rank(self, request: RankRequest, cancel: threading.Event | None = None) -> RankResult:
        """The request's cursor completed, or its problem solved, with the request's own knobs."""
        if request.document is not None:
            return self.complete(request.document.context(), request, cancel)
        return self.solve(request.problem or "", request.language or "python", request, cancel)

    def complete(
        self,
        context: DocumentContext,
        options: RankOptions = DEFAULT_OPTIONS,
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
            queries = [editor_reward_pair(context, c, tree=document.insert(c)) for c in cleaned.completions]
        _check(cancel)
        dropped = dict(cleaned.dropped)
        items = _score_and_rank(self.scorer, cleaned.completions, checks, queries, options, timings, dropped)
        return RankResult(
            items=items, timings=timings, dropped=dropped, generated=len(samples), line_mode=mode
        )

    def solve(
        self,
        problem: str,
        language: str = "python",
        options: RankOptions = DEFAULT_OPTIONS,
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
        solutions = [
            Completion(e.code, 0, s.logprobs, s.finish_reason, i)
            for i, (e, s) in enumerate(zip(extracted, samples, strict=True))
        ]
        queries = [(problem, e.code) for e in extracted]
        dropped: dict[str, int] = {}
        items = _score_and_rank(self.scorer, solutions, checks, queries, options, timings, dropped)
        return RankResult(items=items, timings=timings, dropped=dropped, generated=len(samples))
