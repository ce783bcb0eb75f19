"""Best-of-N: the product's core loop.

At a cursor: FIM prompt -> N samples in one batched call -> cleaning pipeline -> validity in place
(engine/cursor_candidates.py) -> reward model for the valid ones only (one batched call) -> shaping ->
ranking.
For a problem statement: chat prompt -> N samples -> reference extraction -> syntax check -> the same
scoring, shaping and ranking.

Each stage is timed, so users and benchmarks can see where the latency goes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from engine.candidates import score_gated
from engine.cursor_candidates import DEFAULT_OPTIONS, CursorSampler, check_cancel, sample, timed
from engine.document import Completion, DocumentContext
from engine.generation.base import Generator
from engine.prompts.builder import problem_prompt
from engine.protocol import ContextUse, RankOptions, RankRequest, RankResult, ScoredCompletion
from engine.ranking import rank_completions
from engine.reward.scorer import RewardQuery, RewardScorer
from engine.syntax.extraction import extract_code
from engine.syntax.validity import SyntaxCheck, check_syntax


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
    with timed(timings, "scoring"):
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


class BestOfN:
    """A policy and a reward model, ready to rank completions at a cursor or solutions to a problem."""

    def __init__(self, generator: Generator, scorer: RewardScorer, fim_template_name: str | None = None):
        self.generator = generator
        self.scorer = scorer
        self.sampler = CursorSampler(generator, fim_template_name)

    def rank(self, request: RankRequest, cancel: threading.Event | None = None) -> RankResult:
        """The request's cursor completed, or its problem solved, with the request's own knobs."""
        if request.document is not None:
            return self.complete(request.document.cursor_context(), request, cancel)
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
        found = self.sampler.candidates(context, options, cancel, timings)
        check_cancel(cancel)
        dropped = dict(found.dropped)
        items = _score_and_rank(
            self.scorer, found.completions, found.checks, found.queries, options, timings, dropped
        )
        return RankResult(
            items=items,
            timings=timings,
            dropped=dropped,
            generated=found.generated,
            line_mode=found.line_mode,
            context=[
                ContextUse(path=s.path, symbol=s.symbol, kind=s.kind, line=s.line) for s in found.context
            ],
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
        with timed(timings, "generation"):
            prompt = problem_prompt(problem, self.generator.tokenizer, language)
            samples = sample(self.generator, prompt.text, prompt.stop, options, cancel)
        check_cancel(cancel)
        with timed(timings, "validation"):
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
