"""Messages of the engine service (documented in docs/engine-protocol.md), kept apart from the engine.

Every message is one JSON object in a websocket text frame. A request carries a client-chosen `id`; the
server answers each request exactly once, with `result`, `error` or `cancelled` and the same `id`.
Validation happens here, before any model work, with errors a user can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.best_of_n import RankOptions
from engine.document import DocumentContext
from engine.errors import CodescalerError


@dataclass(frozen=True)
class Limits:
    """Per-request limits that protect a shared GPU from one greedy client."""

    max_n: int = 32
    max_new_tokens: int = 512
    max_payload_bytes: int = 1 << 20
    max_candidates: int = 256


class ProtocolError(CodescalerError):
    """A malformed or over-limit request; `request_id` is echoed when it could be read."""

    def __init__(self, message: str, request_id: Any = None):
        super().__init__(message)
        self.request_id = request_id


def _field(
    message: dict, name: str, kind: type | tuple[type, ...], request_id: Any, default: Any = ...
) -> Any:
    if name not in message or message[name] is None:
        if default is ...:
            raise ProtocolError(f"missing field '{name}'", request_id)
        return default
    value = message[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # True is an int
        raise ProtocolError(f"field '{name}' has the wrong type ({type(value).__name__})", request_id)
    return value


def parse_message(frame: str | bytes, limits: Limits) -> dict:
    """The JSON object in one frame, within the payload limit, with a `type`."""
    size = len(frame.encode("utf-8") if isinstance(frame, str) else frame)
    if size > limits.max_payload_bytes:
        raise ProtocolError(f"message of {size} bytes is over the {limits.max_payload_bytes}-byte limit")
    try:
        message = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    request_id = message.get("id")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("missing field 'type'", request_id)
    return message


def rank_options(message: dict, limits: Limits) -> RankOptions:
    """Sampling and ranking options of a rank request, checked against `limits`."""
    request_id = message.get("id")
    n = _field(message, "n", int, request_id, 8)
    max_new_tokens = _field(message, "max_new_tokens", int, request_id, 64)
    if not 1 <= n <= limits.max_n:
        raise ProtocolError(f"n={n} is outside 1..{limits.max_n}", request_id)
    if not 1 <= max_new_tokens <= limits.max_new_tokens:
        raise ProtocolError(
            f"max_new_tokens={max_new_tokens} is outside 1..{limits.max_new_tokens}", request_id
        )
    return RankOptions(
        n=n,
        max_new_tokens=max_new_tokens,
        temperature=float(_field(message, "temperature", (int, float), request_id, 0.8)),
        top_p=float(_field(message, "top_p", (int, float), request_id, 0.95)),
        seed=_field(message, "seed", int, request_id, None),
        top_k=_field(message, "top_k", int, request_id, None),
        threshold=_field(message, "threshold", (int, float), request_id, None),
        line_mode=_line_mode(_field(message, "line_mode", str, request_id, "auto"), request_id),
    )


def _line_mode(value: str, request_id: Any) -> Any:
    if value not in ("auto", "single", "multi"):
        raise ProtocolError(f"line_mode {value!r} is not one of auto, single, multi", request_id)
    return value


def document_context(message: dict) -> DocumentContext | None:
    """The cursor of a rank request (`document`: text + offset, or line/character), or None for a problem."""
    request_id = message.get("id")
    document = _field(message, "document", dict, request_id, None)
    if document is None:
        _field(message, "problem", str, request_id)
        return None
    text = _field(document, "text", str, request_id)
    language = _field(document, "language", str, request_id, None)
    path = _field(document, "path", str, request_id, None)
    try:
        if "offset" in document:
            return DocumentContext(text, _field(document, "offset", int, request_id), language, path)
        line, character = (
            _field(document, "line", int, request_id),
            _field(document, "character", int, request_id),
        )
        return DocumentContext.at_line_col(text, line, character, language, path)
    except CodescalerError as exc:
        raise ProtocolError(str(exc), request_id) from exc
