"""Feedback in `codescaler serve`: a record per rank request it answers, outcomes from its clients.

A team points `feedback.db` at its PostgreSQL server, and every request the engine answers is recorded
there (texts only with `feedback.store_text`). The engine cannot see an editor, so outcomes come from
clients: a language server using this engine names each request (`ref`, its own request id) and sends
`feedback` messages as the user accepts, partly accepts or passes over items
(docs/engine-protocol.md). The engine records every item it returned; which of them an editor showed is
in that editor's own records.
"""

from __future__ import annotations

import contextlib
import time
import uuid

from engine.feedback.recorder import recorder_for
from engine.feedback.records import (
    Event,
    Outcome,
    RequestRecord,
    milliseconds,
    path_hash,
    shown_items,
    stored_window,
    used_context,
)
from engine.protocol import FeedbackReport, RankRequest, RankResult, RequestError
from engine.settings import Settings


class ServeFeedback:
    def __init__(self, settings: Settings):
        self.recorder = recorder_for(settings.feedback_db)
        self.store_text = settings.feedback_store_text
        models = settings.models
        self.models = (models.policy, models.reward_model)
        self.session = uuid.uuid4().hex[:12]

    def record_id(self, connection: int, request: RankRequest) -> str:
        return request.ref or f"{self.session}-{connection}-{request.id}"

    def answered(
        self,
        connection: int,
        request: RankRequest,
        result: RankResult | None,
        outcome: Outcome,
        seconds: float,
    ) -> None:
        document = request.document
        stored, cursor = None, None
        if self.store_text and document is not None:
            with contextlib.suppress(RequestError):  # a cursor outside the text: the request failed on it
                context = document.cursor_context()
                stored, cursor = stored_window(context.text, context.offset)
        items = [] if result is None else result.items
        timings = {} if result is None else result.timings
        self.recorder.put(
            RequestRecord(
                id=self.record_id(connection, request),
                session=self.session,
                time=time.time(),
                source="serve",
                feature="rank",
                outcome=outcome if items or outcome != "open" else "empty",
                language=(document.language if document else request.language),
                path_hash=path_hash(document.path) if document and document.path else None,
                line_mode=None if result is None else result.line_mode,
                policy=self.models[0],
                reward_model=self.models[1],
                total_ms=milliseconds(seconds),
                engine_ms=milliseconds(seconds),
                generate_ms=milliseconds(timings.get("generation")),
                score_ms=milliseconds(timings.get("scoring")),
                cache="miss",
                path=document.path if self.store_text and document else None,
                document=stored,
                cursor=cursor,
                items=shown_items(items, self.store_text),
                context=used_context(document.context, result.context)
                if self.store_text and document is not None and result is not None
                else None,
            )
        )

    def report(self, report: FeedbackReport) -> None:
        self.recorder.put(
            Event(
                request=report.request,
                kind=report.event,
                time=time.time(),
                rank=report.rank,
                chars=report.chars,
            )  # type: ignore[arg-type]
        )
