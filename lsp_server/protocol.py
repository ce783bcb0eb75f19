"""pygls' protocol, made tolerant of what real clients send and of running many connections per process.

* vscode-languageclient 9 (inside monaco-languageclient) sends `selectedCompletionInfo.range` as a JSON
  array `[start, end]`; it is turned into a proper range instead of being rejected.
* A request whose params cannot be read gets an Invalid Params error response. Plain pygls only logs
  the failure, and the client waits forever for an answer.
* `exit` closes this connection only (through `on_exit`), instead of ending a process that serves other
  editors too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)


class RejectedMessage(Exception):
    """A message that was answered with an error without reaching a handler."""


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


class CodescalerProtocol(LanguageServerProtocol):
    on_exit: Callable[[], None] | None = None

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data:
            _repair(data)
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:
                error = JsonRpcInvalidParams(f"invalid params for {data['method']}: {exc.__cause__ or exc}")
                self._send_response(data["id"], error=error.to_response_error())
            raise RejectedMessage(f"rejected a {data.get('method', 'malformed')} message") from exc

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        if self.on_exit is None:
            yield from super().lsp_exit(*args)
            return
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self.on_exit()
