"""One way to reach an engine: the `Ranker` interface, the in-process `LocalRanker`, and `connect`.

`codescaler rank`, `serve`, `lsp` and `eval fim` ask `connect(settings)` for a ranker and do not care
whether it runs here or behind `codescaler serve` (engine/serve/client.py's `RemoteRanker`): both take a
typed `RankRequest` / `ScoreRequest` and return a typed result, and both stop work when the caller's
`cancel` event is set.

The local ranker lets several callers (threads) share one policy and one reward model: the policy runs
one request at a time (a GPU generates one batch at a time anyway), and the reward-model work of all
requests meets in shared batches (engine/serve/batcher.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, Protocol, TypeVar

from engine.best_of_n import BestOfN
from engine.candidates import score_candidates
from engine.generation.base import Cancelled, Generator, Sample, SamplingOptions
from engine.protocol import FeedbackReport, RankRequest, RankResult, ScoreRequest, ScoreResult
from engine.reward.scorer import RewardScorer
from engine.serve.batcher import BatchedScorer, ScoreBatcher
from engine.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)
StateListener = Callable[[str, str], None]  # (loading | ready | error, detail)


class Ranker(Protocol):
    """Best-of-N ranking and scoring, in this process or on an engine service."""

    models: str  # the policy and reward model, as a user names them

    def rank(self, request: RankRequest, cancel: threading.Event | None = None) -> RankResult: ...

    def score(self, request: ScoreRequest, cancel: threading.Event | None = None) -> ScoreResult: ...

    def report(self, report: FeedbackReport) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SerialGenerator(Generator):
    """Lets one request at a time use the wrapped policy."""

    def __init__(self, inner: Generator):
        self.inner = inner
        self.tokenizer = inner.tokenizer
        self._lock = threading.Lock()

    def _generate(
        self, prompt: str, options: SamplingOptions, cancel: threading.Event | None
    ) -> list[Sample]:
        with self._lock:
            return self.inner.generate(prompt, options, cancel)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LocalRanker:
    """One policy and one reward model in this process, shared by every caller; `resources` (the loaded
    models) close with it."""

    def __init__(
        self,
        generator: Generator,
        scorer: RewardScorer,
        *,
        fim_template: str | None = None,
        models: str = "",
        max_batch_tokens: int = 16384,
        max_wait_s: float = 0.005,
        resources: ExitStack | None = None,
    ):
        self.generator = SerialGenerator(generator)
        self.fim_template = fim_template
        self.models = models
        self.batcher = ScoreBatcher(scorer, max_batch_tokens, max_wait_s)
        self._resources = resources
        self._lock = threading.Lock()
        self.latencies: deque[float] = deque(maxlen=2000)
        self.counts = {"received": 0, "completed": 0, "cancelled": 0, "failed": 0, "in_flight": 0}

    def _count(self, key: str, change: int = 1) -> None:
        with self._lock:
            self.counts[key] += change

    def _run(self, work: Callable[[BatchedScorer], T], cancel: threading.Event | None) -> T:
        cancel = cancel or threading.Event()
        self._count("received")
        self._count("in_flight")
        start = time.perf_counter()
        outcome = "failed"
        try:
            result = work(BatchedScorer(self.batcher, cancel))
            outcome = "completed"
            return result
        except Cancelled:
            outcome = "cancelled"
            raise
        finally:
            self._count(outcome)
            self._count("in_flight", -1)
            self.latencies.append(time.perf_counter() - start)

    def rank(self, request: RankRequest, cancel: threading.Event | None = None) -> RankResult:
        return self._run(
            lambda scorer: BestOfN(self.generator, scorer, self.fim_template).rank(request, cancel), cancel
        )

    def score(self, request: ScoreRequest, cancel: threading.Event | None = None) -> ScoreResult:
        def work(scorer: BatchedScorer) -> ScoreResult:
            return ScoreResult(items=score_candidates(scorer, request.question, request.candidates))

        return self._run(work, cancel)

    def report(self, report: FeedbackReport) -> None:
        """Nothing to do: in process, the caller records feedback itself (the language server does)."""

    def stats(self) -> dict[str, Any]:
        latencies = list(self.latencies)
        return {
            "models": self.models,
            **self.counts,
            "score_queue_depth": self.batcher.depth,
            "latency_p50_s": percentile(latencies, 0.5),
            "latency_p95_s": percentile(latencies, 0.95),
            **self.batcher.stats.as_dict(),
        }

    def close(self) -> None:
        self.batcher.close()
        if self._resources is not None:
            self._resources.close()


def load_local(settings: Settings, **batching: Any) -> LocalRanker:
    """The models the settings name, loaded here and warmed up for the configured N (graph decode
    compiles then, not at the first request)."""
    spec = settings.models
    named = [model is not None for model in (spec.policy, spec.reward_model)]
    if named[0] != named[1]:
        unset, flag = ("reward model", "--reward-model") if named[0] else ("policy", "--policy")
        log.warning("only one model is set: the %s is the small bundled one (set %s too)", unset, flag)
    stack = ExitStack()
    try:
        generator, scorer = spec.load(stack)
        generator.warm_up(settings.rank_options.n)
    except BaseException:
        stack.close()
        raise
    return LocalRanker(
        generator, scorer, fim_template=spec.fim_template, models=spec.label, resources=stack, **batching
    )


def connect(
    settings: Settings,
    *,
    timeout_s: float = 120.0,
    reconnect: bool = False,
    on_state: StateListener | None = None,
) -> Ranker:
    """The engine the settings name: a `RemoteRanker` for `models.engine` (a running `codescaler serve`),
    else the models loaded here. `reconnect` keeps a remote connection alive across engine restarts
    (reporting each change to `on_state`) instead of failing at once."""
    if settings.engine_url:
        from engine.serve.client import RemoteRanker

        return RemoteRanker(
            settings.engine_url,
            settings.engine_token,
            timeout_s=timeout_s,
            reconnect=reconnect,
            on_state=on_state,
        )
    return load_local(settings)
