"""The engine service's core, independent of the transport: run requests, keep statistics.

Requests run in a small thread pool so that the reward-model work of several requests meets in the
batcher. The policy runs one request at a time (a GPU generates one batch at a time anyway); a request
cancelled while it waits for the policy never starts generating, and one cancelled while generating stops
at the next token (transformers policy).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from engine.best_of_n import BestOfN
from engine.candidates import CodeCandidate, score_candidates
from engine.generation.base import Generator, Sample, SamplingOptions
from engine.reward.scorer import RewardScorer
from engine.serve.batcher import BatchedScorer, ScoreBatcher
from engine.serve.protocol import Limits, ProtocolError, document_context, rank_options


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


class EngineService:
    """One policy and one reward model serving rank and score requests from many clients."""

    def __init__(
        self,
        generator: Generator,
        scorer: RewardScorer,
        *,
        fim_template: str | None = None,
        models: str = "",
        limits: Limits | None = None,
        workers: int = 4,
        max_batch_tokens: int = 16384,
        max_wait_s: float = 0.005,
    ):
        self.generator = SerialGenerator(generator)
        self.scorer = scorer
        self.fim_template = fim_template
        self.models = models  # as a user names them, for stats: which models answer
        self.limits = limits or Limits()
        self.batcher = ScoreBatcher(scorer, max_batch_tokens, max_wait_s)
        # Score requests get their own threads: in the rank pool they would queue behind ranks that wait
        # for the (serial) policy, and never meet in a reward batch.
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codescaler-rank")
        self.score_executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codescaler-score")
        self.latencies: deque[float] = deque(maxlen=2000)
        self.counts = {"received": 0, "completed": 0, "cancelled": 0, "failed": 0}
        self.in_flight = 0

    def _rank(self, message: dict, cancel: threading.Event) -> dict[str, Any]:
        options = rank_options(message, self.limits)
        context = document_context(message)
        engine = BestOfN(self.generator, BatchedScorer(self.batcher, cancel), self.fim_template)
        if context is not None:
            result = engine.complete(context, options, cancel)
        else:
            language = message.get("language") if isinstance(message.get("language"), str) else "python"
            result = engine.solve(message["problem"], language, options, cancel)
        return {
            "items": [asdict(item) for item in result.items],
            "timings": result.timings,
            "dropped": result.dropped,
            "generated": result.generated,
            "line_mode": result.line_mode,
        }

    def _score(self, message: dict, cancel: threading.Event) -> dict[str, Any]:
        request_id = message.get("id")
        question = message.get("question")
        candidates = message.get("candidates")
        if not isinstance(question, str) or not isinstance(candidates, list):
            raise ProtocolError(
                "a score request needs 'question' (string) and 'candidates' (list)", request_id
            )
        if len(candidates) > self.limits.max_candidates:
            raise ProtocolError(
                f"{len(candidates)} candidates is over the limit of {self.limits.max_candidates}", request_id
            )
        rows = []
        for candidate in candidates:
            if not isinstance(candidate, dict) or not isinstance(candidate.get("code"), str):
                raise ProtocolError(
                    "each candidate needs 'code' (string) and may have 'language'", request_id
                )
            language = candidate.get("language")
            rows.append(CodeCandidate(candidate["code"], language if isinstance(language, str) else None))
        results = score_candidates(BatchedScorer(self.batcher, cancel), question, rows)
        return {"items": [asdict(result) for result in results]}

    async def handle(self, message: dict, cancel: threading.Event) -> dict[str, Any]:
        """Run a rank or score request in the pool; raises `Cancelled`, `ProtocolError` or CodescalerError."""
        work = {"rank": self._rank, "score": self._score}.get(message["type"])
        if work is None:
            raise ProtocolError(
                f"unknown message type {message['type']!r}: use rank, score or cancel", message.get("id")
            )
        self.counts["received"] += 1
        self.in_flight += 1
        start = time.perf_counter()
        try:
            executor = self.score_executor if work == self._score else self.executor
            return await asyncio.get_running_loop().run_in_executor(executor, work, message, cancel)
        finally:
            self.in_flight -= 1
            self.latencies.append(time.perf_counter() - start)

    def stats(self) -> dict[str, Any]:
        latencies = list(self.latencies)
        return {
            "models": self.models,
            **self.counts,
            "in_flight": self.in_flight,
            "score_queue_depth": self.batcher.depth,
            "latency_p50_s": percentile(latencies, 0.5),
            "latency_p95_s": percentile(latencies, 0.95),
            **self.batcher.stats.as_dict(),
        }

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.score_executor.shutdown(wait=True, cancel_futures=True)
        self.batcher.close()
