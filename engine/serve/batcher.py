"""Dynamic batching of reward-model work across clients.

Each editor request brings a handful of candidates; scoring them one request at a time leaves a GPU
mostly idle. The batcher collects the scoring work of all in-flight requests, waits at most `max_wait_s`
for company, and runs one batch of up to `max_batch_tokens` tokens. Work whose request was cancelled
while it waited is dropped before the batch runs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from engine.generation.base import Cancelled
from engine.reward.scorer import RewardScorer


@dataclass
class _Job:
    token_ids: Sequence[list[int]]
    cancel: threading.Event | None
    future: Future = field(default_factory=Future)

    @property
    def tokens(self) -> int:
        return sum(len(ids) for ids in self.token_ids)


@dataclass
class BatchStats:
    batches: int = 0
    sequences: int = 0
    jobs: int = 0
    dropped_cancelled: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "batches": self.batches,
            "mean_batch_sequences": self.sequences / self.batches if self.batches else 0.0,
            "mean_batch_requests": self.jobs / self.batches if self.batches else 0.0,
            "dropped_cancelled": self.dropped_cancelled,
        }


class ScoreBatcher:
    """Runs `scorer` in one background thread over batches gathered from many callers."""

    def __init__(self, scorer: RewardScorer, max_batch_tokens: int = 16384, max_wait_s: float = 0.005):
        self.scorer = scorer
        self.max_batch_tokens = max_batch_tokens
        self.max_wait_s = max_wait_s
        self.stats = BatchStats()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="codescaler-score-batcher", daemon=True)
        self._thread.start()

    def score_token_ids(
        self, token_ids: Sequence[list[int]], cancel: threading.Event | None = None
    ) -> list[float]:
        """Scores for `token_ids`, computed in a shared batch; blocks the calling (worker) thread."""
        if not token_ids:
            return []
        job = _Job(token_ids, cancel)
        self._queue.put(job)
        return job.future.result()

    @property
    def depth(self) -> int:
        """Jobs waiting for a batch."""
        return self._queue.qsize()

    def _gather(self, first: _Job) -> list[_Job]:
        jobs, tokens = [first], first.tokens
        deadline = time.monotonic() + self.max_wait_s
        while tokens < self.max_batch_tokens:
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._queue.get(timeout=max(remaining, 0)) if remaining > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # keep the stop signal for the loop
                break
            jobs.append(job)
            tokens += job.tokens
        return jobs

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            jobs = []
            for job in self._gather(first):
                if job.cancel is not None and job.cancel.is_set():
                    self.stats.dropped_cancelled += 1
                    job.future.set_exception(Cancelled())
                else:
                    jobs.append(job)
            if not jobs:
                continue
            token_ids = [ids for job in jobs for ids in job.token_ids]
            try:
                scores = self.scorer.score_token_ids(token_ids)
            except Exception as exc:  # delivered to every waiting request
                for job in jobs:
                    job.future.set_exception(exc)
                continue
            self.stats.batches += 1
            self.stats.sequences += len(token_ids)
            self.stats.jobs += len(jobs)
            start = 0
            for job in jobs:
                job.future.set_result(scores[start : start + len(job.token_ids)])
                start += len(job.token_ids)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


class BatchedScorer(RewardScorer):
    """A `RewardScorer` view of the batcher for one request, carrying that request's cancel flag."""

    def __init__(self, batcher: ScoreBatcher, cancel: threading.Event | None = None):
        self.batcher = batcher
        self.cancel = cancel
        self.formatter = batcher.scorer.formatter

    def score_token_ids(self, token_ids: Sequence[list[int]]) -> list[float]:
        return self.batcher.score_token_ids(token_ids, self.cancel)
