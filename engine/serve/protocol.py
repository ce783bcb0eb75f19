"""The engine service's wire: frames in, typed requests out, answers back (docs/engine-protocol.md).

Every message is one JSON object in a websocket text frame. A request carries a client-chosen `id` (a
string or a number); the server answers each request exactly once, with `result`, `error` or `cancelled`
and the same `id`. Everything is checked here, before any model work: the frame's size and JSON, the
request's types and ranges (engine/protocol.py), and this server's limits. A bad message costs its sender
one error answer, never the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from engine.errors import CodescalerError
from engine.protocol import (
    FeedbackReport,
    RankRequest,
    Request,
    RequestError,
    RequestId,
    ScoreRequest,
    checked,
)

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Limits:
    """Per-request limits that protect a shared GPU from one greedy client."""

    max_n: int = 32
    max_new_tokens: int = 512
    max_payload_bytes: int = 1 << 20
    max_candidates: int = 256


class ProtocolError(CodescalerError):
    """A malformed or over-limit request; `request_id` is echoed when it could be read."""

    def __init__(self, message: str, request_id: RequestId | None = None):
        super().__init__(message)
        self.request_id = request_id


def _id_of(message: Any) -> RequestId | None:
    """The message's id when it is a valid one (an object or a list as id is answered with id null)."""
    value = message.get("id") if isinstance(message, dict) else None
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def read_request(frame: str | bytes, limits: Limits) -> Request:
    """The typed request in one frame, within `limits`; `ProtocolError` (with the id when readable)."""
    size = len(frame.encode("utf-8") if isinstance(frame, str) else frame)
    if size > limits.max_payload_bytes:
        raise ProtocolError(f"message of {size} bytes is over the {limits.max_payload_bytes}-byte limit")
    try:
        message = _decoder.decode(frame)
    except (msgspec.DecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ProtocolError(f"not a JSON message: {reason}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    request_id = _id_of(message)
    if "id" in message and request_id is None and message["id"] is not None:
        raise ProtocolError(f"'id' must be a string or a number, not {type(message['id']).__name__}")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("missing field 'type': use rank, score, cancel or feedback", request_id)
    if message["type"] not in ("rank", "score", "cancel", "feedback"):
        raise ProtocolError(
            f"unknown message type {message['type']!r}: use rank, score, cancel or feedback", request_id
        )
    try:
        request = checked(message, Request)  # type: ignore[arg-type]
    except RequestError as exc:
        raise ProtocolError(str(exc), request_id) from exc
    if not isinstance(request, FeedbackReport) and request.id is None:
        raise ProtocolError("missing field 'id'")
    within_limits(request, limits)
    return request


def within_limits(request: Request, limits: Limits) -> None:
    """This server's limits (a shared GPU's protection), beyond what any request may ask."""
    if isinstance(request, RankRequest):
        for name, value, most in (
            ("n", request.n, limits.max_n),
            ("max_new_tokens", request.max_new_tokens, limits.max_new_tokens),
        ):
            if value > most:
                raise ProtocolError(f"{name}={value} is over this server's limit of {most}", request.id)
    elif isinstance(request, ScoreRequest) and len(request.candidates) > limits.max_candidates:
        raise ProtocolError(
            f"{len(request.candidates)} candidates is over the limit of {limits.max_candidates}", request.id
        )


def encode(request: Request) -> bytes:
    """A request as one frame (what a client sends)."""
    return _encoder.encode(request)


def answer(request_id: RequestId | None, kind: str, **fields: Any) -> bytes:
    """An answer frame: `result` (with the result's fields), `error` (with `error`) or `cancelled`."""
    return _encoder.encode({"id": request_id, "type": kind, **fields})


def result_answer(request_id: RequestId | None, result: msgspec.Struct) -> bytes:
    return answer(request_id, "result", **msgspec.to_builtins(result))
