"""One editor connection: its settings, engine, cache and the path of a completion request.

A request goes: document + position (in the negotiated encoding) -> code-point cursor -> checks (language
enabled, document size, binary) -> cache (exact or typed-through) -> latest-wins scheduling with debounce
-> engine rank -> valid items only, best first -> cache -> LSP items. Nothing in this path raises to the
client for bad input: a position outside the document, an unknown language or a failing engine give an
empty answer and a log message, so an editor never sees a crash or waits forever.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from lsprotocol import types
from pygls.uris import to_fs_path

from engine.document import cut_window
from engine.errors import CodescalerError, first_line
from engine.feedback.records import used_context
from engine.protocol import Document, RankRequest, ScoredCompletion
from engine.settings import Settings, editor_layer
from engine.syntax.languages import resolve_language
from lsp_server.cache import CompletionCache
from lsp_server.engines import EngineRegistry, SharedEngine
from lsp_server.feedback import SessionFeedback
from lsp_server.positions import LineIndex, PositionError
from lsp_server.scheduler import LatestWins, Superseded
from lsp_server.status import StatusReporter
from lsp_server.workspace import IndexRegistry, SessionWorkspace

log = logging.getLogger(__name__)
WINDOW_BEFORE_CHARS = 24_000
WINDOW_AFTER_CHARS = 8_000


@dataclass
class Runtime:
    """What all sessions of one server process share: the engines, and the settings below the editor's
    (defaults < config file < command line)."""

    registry: EngineRegistry
    settings: Settings
    indexes: IndexRegistry = field(default_factory=IndexRegistry)


@dataclass(frozen=True)
class Answer:
    """What a request showed (the ranked valid items the editor gets, best first) and its id, which the
    items' accept command carries."""

    id: str
    items: list[ScoredCompletion]


@dataclass(frozen=True)
class Request:
    """A completion request, in code points."""

    uri: str
    text: str
    cursor: int
    language_id: str
    invoked: bool
    selected: tuple[int, int, str] | None = None  # (start, end, text) of the suggestion selected in the UI,
    # with start and end in the document as the editor has it (`text` has the suggestion applied)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Session:
    def __init__(self, server: Any, runtime: Runtime):
        self.server = server
        self.runtime = runtime
        self.editor_layers: list[dict] = [{}, {}]  # initializationOptions, live configuration
        self.settings = runtime.settings
        self.engine: SharedEngine | None = None
        self.status = StatusReporter(server, self.settings.server["slow_s"])
        self.cache = CompletionCache()
        self.scheduler = LatestWins()
        self.feedback = SessionFeedback()
        self.feedback.configure(self.settings)
        self.workspace = SessionWorkspace(runtime.indexes)
        self.counts = {"requests": 0, "answered": 0, "empty": 0, "superseded": 0, "failed": 0,
                       "accepted": 0, "shown": 0, "partially_accepted": 0}  # fmt: skip
        self.last: dict[str, Any] = {}

    # settings ------------------------------------------------------------------------------------------

    def set_editor_settings(self, which: int, options: Any, source: str) -> None:
        """Apply a layer from the editor; a bad one is reported and ignored, never fatal."""
        try:
            layer = editor_layer(options, source)
            settings = Settings.from_layers(self.runtime.settings.layers, *self._with(which, layer))
        except CodescalerError as exc:
            self.status.show(f"codescaler: ignoring settings: {exc}", types.MessageType.Error)
            return
        self.editor_layers[which] = layer
        self.settings = settings
        self.feedback.configure(settings)
        self.workspace.configure(settings)
        self.status.slow_s = settings.server["slow_s"]
        if self.engine is not None:
            self.connect_engine()

    def _with(self, which: int, layer: dict) -> list[dict]:
        layers = list(self.editor_layers)
        layers[which] = layer
        return layers

    def connect_engine(self) -> None:
        """Use the engine the settings name (switching when they changed)."""
        settings = self.settings
        engine = self.runtime.registry.acquire(settings)
        if engine is self.engine:
            self.runtime.registry.release(engine)
            return
        self.close_engine()
        self.engine = engine
        self.feedback.forward = engine.report if engine.remote else None
        engine.subscribe(self.status.on_engine)

    def close_engine(self) -> None:
        if self.engine is not None:
            self.engine.unsubscribe(self.status.on_engine)
            self.runtime.registry.release(self.engine)
            self.engine = None

    # requests ------------------------------------------------------------------------------------------

    def request_at(
        self,
        uri: str,
        position: types.Position,
        invoked: bool,
        selected: types.SelectedCompletionInfo | None = None,
    ) -> tuple[Request, LineIndex] | None:
        """The request in code points, or None (and a log line) when there is nothing to complete."""
        from urllib.parse import unquote

        document = self.server.workspace.text_documents.get(unquote(uri))
        if document is None:  # never read files the editor did not open: a client only sees its own text
            self.status.log(f"codescaler: {uri} is not open (send textDocument/didOpen first)")
            return None
        text = document.source
        limit = self.settings.server["max_document_chars"]
        if len(text) > limit:
            self.status.log(f"codescaler: {uri} has {len(text)} characters, over server.max_document_chars")
            return None
        if "\x00" in text or (not text.isascii() and _has_lone_surrogate(text)):
            self.status.log(
                f"codescaler: {uri} looks binary (NUL bytes or invalid Unicode); not completing it"
            )
            return None
        language_id = document.language_id or ""
        if not self.settings.enabled_for(language_id) or not self.settings.enabled_for(
            resolve_language(language_id)
        ):
            return None
        encoding = self.server.workspace.position_encoding or "utf-16"
        index = LineIndex.of(text)
        try:
            cursor = index.offset(position.line, position.character, encoding)
            chosen = None
            if selected is not None:
                start = index.offset(selected.range.start.line, selected.range.start.character, encoding)
                end = index.offset(selected.range.end.line, selected.range.end.character, encoding)
                if not start <= cursor <= end or "\n" in text[start:end]:
                    raise PositionError("the selected completion's range does not hold the cursor")
                text = text[:start] + selected.text + text[end:]
                cursor, chosen = start + len(selected.text), (start, end, selected.text)
        except PositionError as exc:
            self.status.log(f"codescaler: no completion at {position.line}:{position.character}: {exc}")
            return None
        return Request(uri, text, cursor, language_id, invoked, chosen), index

    def _cache_extra(self, request: Request) -> tuple:
        return (request.language_id, self.settings.rank_options)

    async def complete(self, request: Request, feature: str = "inline", limit: int | None = None) -> Answer:
        """The ranked valid items for `request`, best first (the first `limit`, or all). A newer request
        of the same `feature` for the document supersedes an older one; an inline request does not
        supersede a completion request (editors send both after a trigger character)."""
        self.counts["requests"] += 1
        answer = Answer(self.feedback.next_id(), [])
        self.feedback.started(feature, request.uri)
        started = time.perf_counter()
        prefix, suffix = request.text[: request.cursor], request.text[request.cursor :]
        extra = self._cache_extra(request)
        items = self.cache.get(prefix, suffix, extra)
        if items is not None:
            self.last = {"total_s": time.perf_counter() - started, "engine_s": 0.0, "cache": "hit"}
            return self._answered(answer, request, feature, items[:limit])
        if self.engine is None:
            self.connect_engine()
        debounce = 0.0 if request.invoked else self.settings.completion["debounce_ms"] / 1000
        engine: dict[str, Any] = {}
        try:
            items = await self.scheduler.run(
                f"{feature} {request.uri}", debounce, lambda: self._rank(request, answer.id, engine)
            )
        except Superseded:
            self.counts["superseded"] += 1
            self.feedback.answered(answer.id, request, feature, "superseded", [], {})
            return answer
        except CodescalerError as exc:
            self._failed(answer, request, feature, str(exc))
            return answer
        except Exception as exc:  # a bug: logged with its traceback, but the editor gets an answer
            log.exception("completion failed")
            self._failed(answer, request, feature, f"internal error: {type(exc).__name__}: {first_line(exc)}")
            return answer
        self.cache.put(prefix, suffix, extra, items)
        self.last = {
            "total_s": time.perf_counter() - started - debounce - engine.get("loading_s", 0.0),
            "engine_s": engine.get("engine_s", 0.0),
            "cache": "miss",
        }
        return self._answered(answer, request, feature, items[:limit], engine)

    def _failed(self, answer: Answer, request: Request, feature: str, message: str) -> None:
        self.counts["failed"] += 1
        self.status.request_failed(message)
        self.feedback.answered(answer.id, request, feature, "failed", [], {})

    def _answered(
        self,
        answer: Answer,
        request: Request,
        feature: str,
        items: list[ScoredCompletion],
        engine: dict[str, Any] | None = None,
    ) -> Answer:
        self.counts["answered" if items else "empty"] += 1
        timing = {**self.last, **(engine or {})}
        self.feedback.answered(answer.id, request, feature, "open" if items else "empty", items, timing)
        return Answer(answer.id, items)

    async def _rank(self, request: Request, ref: str, engine: dict[str, Any]) -> list[ScoredCompletion]:
        assert self.engine is not None
        text, cursor = cut_window(request.text, request.cursor, WINDOW_BEFORE_CHARS, WINDOW_AFTER_CHARS)
        language = resolve_language(request.language_id)
        snippets = None
        if self.settings.context_for(request.language_id) and self.settings.context_for(language):
            documents = self.server.workspace.text_documents
            snippets = self.workspace.snippets(
                request.uri, request.text, request.cursor, self.settings, documents
            )
        document = Document(
            text=text,
            offset=cursor,
            language=language,
            path=to_fs_path(request.uri) or request.uri,
            context=snippets or None,
        )
        waiting = time.perf_counter()
        await self.engine.until_ready()  # loading the models is not a slow request
        started = time.perf_counter()
        engine["loading_s"] = started - waiting
        result = await self.engine.rank(
            RankRequest.of(self.settings.rank_options, document=document, ref=ref)
        )
        elapsed = time.perf_counter() - started
        engine.update(
            engine_s=elapsed,
            timings=result.timings,
            line_mode=result.line_mode,
            context=used_context(snippets, result.context),
        )
        self.workspace.last["used"] = [msgspec.structs.asdict(use) for use in result.context]
        self.status.request_done(elapsed)
        return [item for item in result.items if item.valid is not False and item.text.strip()]

    def stats(self) -> dict[str, Any]:
        engine = self.engine
        return {
            **self.counts,
            "cache": self.cache.stats(),
            "status": self.status.state,
            "engine": None if engine is None else {"state": engine.state, "detail": engine.detail},
            "engine_service": None if engine is None else engine.stats(),
            "position_encoding": str(self.server.workspace.position_encoding),
            "settings": {
                section: {key: "***" if key == "token" else value for key, value in values.items()}
                for section, values in self.settings.layers.items()
            },
            "last": self.last,
            "feedback": self.feedback.stats(),
            "context": self.workspace.stats(),
        }

    async def close(self) -> None:
        self.close_engine()
