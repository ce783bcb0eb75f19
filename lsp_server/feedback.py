"""One editor session's feedback: request ids, what each request showed, and what became of it.

Every completion request gets an id (`<session>-<n>`) that its items carry in their `codescaler.accepted`
command, so the client's reports (the command, `textDocument/didShowCompletion`,
`textDocument/didPartiallyAcceptCompletion`, each naming the item) find their request. A newer request of
the same kind for a document settles the older one as dismissed when nothing of it was taken
(engine/feedback/records.py has the outcomes). Records go to the process's recorder for the configured
database, off the request path; nothing here waits for it or raises.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from pygls.uris import to_fs_path

from engine.feedback.recorder import FeedbackRecorder, recorder_for
from engine.feedback.records import (
    Event,
    Outcome,
    RequestRecord,
    milliseconds,
    path_hash,
    shown_items,
    stored_window,
)
from engine.protocol import FeedbackReport, ScoredCompletion
from engine.settings import Settings

log = logging.getLogger(__name__)


def json_field(value: Any, name: str) -> Any:
    """`value[name]` for a JSON object however the transport delivered it (dict or attribute object)."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def item_reference(details: Any) -> tuple[str, int] | None:
    """(request id, rank) from an accept command's argument; None when it is not one of ours."""
    request, rank = json_field(details, "request"), json_field(details, "rank")
    if isinstance(request, str) and type(rank) is int:
        return request, rank
    return None


def reported_item(params: Any) -> tuple[str, int] | None:
    """(request id, rank) of the item a show or partial-accept notification names (its command's
    argument)."""
    command = json_field(json_field(params, "item"), "command")
    arguments = json_field(command, "arguments")
    if isinstance(arguments, list | tuple) and arguments:
        return item_reference(arguments[0])
    return None


class SessionFeedback:
    def __init__(self) -> None:
        self.session = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._open: dict[tuple[str, str], str] = {}  # (feature, uri) -> its latest answered request
        self.recorder: FeedbackRecorder | None = None
        self.store_text = False
        self.models: tuple[str | None, str | None] = (None, None)
        # A remote engine's `report` (it records the requests it answered under our ids), else None.
        self.forward: Callable[[FeedbackReport], None] | None = None

    def configure(self, settings: Settings) -> None:
        feedback = settings.layers["feedback"]
        self.recorder = recorder_for(settings.feedback_db) if feedback["record"] else None
        self.store_text = settings.feedback_store_text
        models = settings.models
        engine = settings.engine_url
        self.models = (engine or models.policy, engine or models.reward_model)

    def next_id(self) -> str:
        return f"{self.session}-{next(self._ids)}"

    def started(self, feature: str, uri: str) -> None:
        """A new request of `feature` in `uri`: the one before it, if still open, was passed over."""
        earlier = self._open.pop((feature, uri), None)
        if earlier is not None:
            self._put(Event(request=earlier, kind="dismissed", time=time.time()))

    def answered(
        self,
        request_id: str,
        request: Any,
        feature: str,
        outcome: Outcome,
        shown: list[ScoredCompletion],
        timing: dict[str, Any],
    ) -> None:
        """Record request `request_id` (an lsp_server.session.Request) and what it showed."""
        if outcome == "open":
            self._open[(feature, request.uri)] = request_id
        if self.recorder is None:
            return
        document = cursor = path = None
        if self.store_text:
            document, cursor = stored_window(request.text, request.cursor)
            path = to_fs_path(request.uri) or request.uri
        timings = timing.get("timings") or {}
        self._put(
            RequestRecord(
                id=request_id,
                session=self.session,
                time=time.time(),
                source="lsp",
                feature=feature,
                outcome=outcome,
                language=request.language_id or None,
                path_hash=path_hash(request.uri),
                line_mode=timing.get("line_mode"),
                policy=self.models[0],
                reward_model=self.models[1],
                total_ms=milliseconds(timing.get("total_s")),
                engine_ms=milliseconds(timing.get("engine_s")),
                generate_ms=milliseconds(timings.get("generation")),
                score_ms=milliseconds(timings.get("scoring")),
                cache=timing.get("cache"),
                path=path,
                document=document,
                cursor=cursor,
                items=shown_items(shown, self.store_text),
                context=timing.get("context") if self.store_text else None,
            )
        )

    def report(self, kind: str, reference: tuple[str, int] | None, chars: Any = None) -> None:
        """A client's report about an item (`kind`: shown, accepted, partial)."""
        if reference is None:
            log.info("ignored a %s report that names no codescaler item", kind)
            return
        request_id, rank = reference
        if kind in ("accepted", "partial"):
            for key, value in list(self._open.items()):
                if value == request_id:
                    del self._open[key]
        count = chars if type(chars) is int and chars >= 0 else None
        self._put(Event(request=request_id, kind=kind, time=time.time(), rank=rank, chars=count))  # type: ignore[arg-type]

    def _put(self, entry: RequestRecord | Event) -> None:
        if self.recorder is not None:
            self.recorder.put(entry)
        if self.forward is not None and isinstance(entry, Event):
            self.forward(
                FeedbackReport(request=entry.request, event=entry.kind, rank=entry.rank, chars=entry.chars)
            )

    def stats(self) -> dict[str, Any] | None:
        return None if self.recorder is None else {**self.recorder.stats(), "store_text": self.store_text}
