"""pygls' protocol, made strict at the JSON-RPC boundary, tolerant of what real clients send, and fit for
running many connections per process.

Every message goes through `CodescalerProtocol.receive_body` (a frame's bytes) or `receive` (a parsed
JSON value), whatever the transport; pygls' own entry (its reading loops call `json.loads` with
`structure_message` as the object hook, then `handle_message`) is not used. Plain pygls drops or
mis-answers what is not a well-formed request, so the client waits forever:

* a body that is not JSON (or not utf-8) gets a Parse error (-32700) with id null;
* a JSON value that is not a request object (an array or other non-object, no or a wrong `"jsonrpc"`, a
  method or id of the wrong type, params that are not structured) gets Invalid Request (-32600), with its
  id when one can be read. pygls silently ignores a message without `"jsonrpc"`;
* before `initialize`, requests get ServerNotInitialized (-32002) and notifications other than `exit` are
  dropped (LSP 3.17, "Initialize Request"). pygls runs them and fails with Internal Error (-32603) or a
  popup;
* after `shutdown`, requests get Invalid Request (-32600) (LSP, "Shutdown Request"); pygls drops them;
* a request whose params cannot be read gets Invalid Params (-32602). Plain pygls only logs the failure;
* unknown methods get Method Not Found (-32601), and `params` may be omitted (JSON-RPC 2.0); pygls'
  generic request type needs it.

Also: vscode-languageclient 9 (inside monaco-languageclient) sends `selectedCompletionInfo.range` as a
JSON array `[start, end]`; it is turned into a proper range instead of being rejected. `exit` closes this
connection only (through `on_exit`), instead of ending a process that serves other editors too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
JSONRPC_VERSION = "2.0"


class RejectedMessage(Exception):
    """A message that was answered with an error (or dropped) without reaching a handler."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes | bytearray | str) -> Any:
    """The JSON value of a message body; ValueError when it is not utf-8 JSON.

    Stricter than `json.loads` on bytes, which would guess utf-16/32 from the first bytes (LSP bodies are
    utf-8) and accept NaN and Infinity, and which raises RecursionError on deeply nested input."""
    text = bytes(body).decode("utf-8") if isinstance(body, bytes | bytearray) else body
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _repair(data: dict[str, Any]) -> None:
    params = data.get("params")
    if data.get("method") != types.TEXT_DOCUMENT_INLINE_COMPLETION or not isinstance(params, dict):
        return
    context = params.get("context")
    selected = context.get("selectedCompletionInfo") if isinstance(context, dict) else None
    if isinstance(selected, dict) and isinstance(selected.get("range"), list):
        bounds = selected["range"]
        if len(bounds) == 2:
            selected["range"] = {"start": bounds[0], "end": bounds[1]}


def _is_id(value: Any) -> bool:
    """LSP ids are integers or strings (JSON-RPC also allows null, which cannot be answered apart)."""
    return type(value) in (int, str)


def _envelope_problem(data: dict[str, Any]) -> str | None:
    """What makes a request or notification object invalid (JSON-RPC 2.0, "Request object"), if anything."""
    if data.get("jsonrpc") != JSONRPC_VERSION:
        return 'the "jsonrpc" member must be "2.0"'
    if "method" not in data:
        return 'a request needs a "method"'
    if not isinstance(data["method"], str):
        return f'"method" must be a string, not {type(data["method"]).__name__}'
    if "result" in data or "error" in data:
        return 'a request has no "result" or "error"'
    if "id" in data and not _is_id(data["id"]):
        return f'"id" must be an integer or a string, not {json.dumps(data["id"])[:40]}'
    if not isinstance(data.get("params"), dict | list | None):
        return f'"params" must be an object or an array, not {type(data["params"]).__name__}'
    return None


class CodescalerProtocol(LanguageServerProtocol):
    on_exit: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initialize_received = False

    # the boundary ------------------------------------------------------------------------------------

    def answer_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """An error response. Written as a plain object because pygls' `ResponseErrorMessage` leaves out
        `"id"` when it is null, and JSON-RPC requires `"id": null` when the id could not be read."""
        log.warning(
            "answered %s with %s: %s", "id null" if msg_id is None else f"id {msg_id!r}"[:60], code, message
        )
        self._send_data(
            {"jsonrpc": JSONRPC_VERSION, "id": msg_id, "error": {"code": code, "message": message}}
        )

    def receive_body(self, body: bytes | bytearray | str) -> None:
        """One message as it came off the wire (a framed body, a websocket frame)."""
        try:
            data = parse_json(body)
        except ValueError as exc:
            self.answer_error(None, PARSE_ERROR, f"Parse error: {exc}")
            return
        self.receive(data)

    def receive(self, data: Any) -> None:
        """One parsed JSON value from the client: answered with the error the specs name, or handled."""
        if not isinstance(data, dict):
            kind = "an array (LSP has no batches)" if isinstance(data, list) else type(data).__name__
            self.answer_error(
                None, INVALID_REQUEST, f"Invalid Request: a message must be an object, not {kind}"
            )
            return
        if "method" not in data and ("result" in data or "error" in data):
            self._receive_response(data)
            return
        answer_id = data["id"] if _is_id(data.get("id")) else None
        if (problem := _envelope_problem(data)) is not None:
            self.answer_error(answer_id, INVALID_REQUEST, f"Invalid Request: {problem}")
            return
        method, is_request = data["method"], "id" in data
        if (refusal := self._refusal(method, is_request)) is not None:
            code, message = refusal
            if is_request:
                self.answer_error(answer_id, code, message)
            else:
                log.info("dropped a %s notification: %s", method, message)
            return
        if is_request and not self._answers_requests(method):  # before params: they do not matter then
            self.answer_error(answer_id, METHOD_NOT_FOUND, f"Method Not Found: {method} (as a request)")
            return
        data = {**data, "params": data.get("params")}  # params may be omitted (JSON-RPC 2.0)
        try:
            message = self.structure_message(data)
        except RejectedMessage as exc:
            log.warning("%s", exc)
            return
        if method == types.INITIALIZE:
            self.initialize_received = True
        try:
            self.handle_message(message)
        except Exception as exc:  # a bug in a handler's synchronous part: the client must not wait forever
            log.exception("could not handle %s", method)
            if is_request:
                self.answer_error(answer_id, INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}")

    def _answers_requests(self, method: str) -> bool:
        """Whether `method` is a request this server implements. A method lsprotocol types as a
        notification is not, even with a handler: its type has no id, so pygls would run it as a
        notification and never answer. `exit` ends the session however it is sent."""
        if method not in self.fm.builtin_features and method not in self.fm.features:
            return False
        kind = self.get_message_type(method)
        fields = getattr(kind, "__attrs_attrs__", ())
        return method == types.EXIT or kind is None or any(field.name == "id" for field in fields)

    def _refusal(self, method: str, is_request: bool) -> tuple[int, str] | None:
        """The LSP lifecycle: (code, message) when `method` may not run now."""
        if method == types.EXIT:
            return None
        if self._shutdown:
            return (
                INVALID_REQUEST,
                f"Invalid Request: the server is shut down, {method} is refused (only exit)",
            )
        if method == types.INITIALIZE:
            if not is_request:
                return INVALID_REQUEST, "initialize must be a request"
            if self.initialize_received:
                return INVALID_REQUEST, "Invalid Request: initialize may be sent only once"
            return None
        if not self.initialize_received:
            return SERVER_NOT_INITIALIZED, f"Server not initialized: {method} before initialize"
        return None

    def _receive_response(self, data: dict[str, Any]) -> None:
        """The client's answer to a request of ours (workspace/configuration, progress creation)."""
        msg_id = data.get("id")
        problem = None
        if data.get("jsonrpc") != JSONRPC_VERSION:
            problem = 'the "jsonrpc" member must be "2.0"'
        elif not _is_id(msg_id):
            problem = '"id" must be an integer or a string'
        elif "result" in data and "error" in data:
            problem = 'a response has "result" or "error", not both'
        if problem is None:
            try:
                self.handle_message(self.structure_message(data))
                return
            except RejectedMessage as exc:
                problem = str(exc)
        log.warning("ignored a malformed response (id %s): %s", str(msg_id)[:40], problem)
        # A handler awaiting this answer would wait forever: fail it instead.
        pending = self._request_futures.get(msg_id) if _is_id(msg_id) else None
        if isinstance(pending, Future) and not pending.done():
            self._request_futures.pop(msg_id, None)
            pending.set_exception(JsonRpcInvalidRequest(f"malformed response from the client: {problem}"))

    def structure_message(self, data: dict[str, Any]) -> Any:
        """The message as lsprotocol's type for its method (pygls' generic types for others). A request
        that does not fit gets Invalid Params. Done here rather than by pygls' `structure_message`, which
        logs a whole traceback for each malformed message."""
        _repair(data)
        try:
            if "method" in data:
                generic = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
                kind = self.get_message_type(data["method"]) or generic
            elif "error" in data:
                kind = types.ResponseErrorMessage
            else:
                kind = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
            return self._converter.structure(data, kind)
        except Exception as exc:
            what = data.get("method", "response")
            problem = "; ".join(transform_error(exc)) if isinstance(exc, ClassValidationError) else str(exc)
            if "id" in data and "method" in data:
                error = JsonRpcInvalidParams(f"invalid params for {what}: {problem[:500]}")
                self._send_response(data["id"], error=error.to_response_error())
            raise RejectedMessage(f"rejected a {what} message: {problem[:500]}") from exc

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        if self.on_exit is None:
            yield from super().lsp_exit(*args)
            return
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self.on_exit()
