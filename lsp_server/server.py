"""The LSP features: inline completion (LSP 3.18), completion, acceptance reports, configuration, stats.

One `CodescalerServer` per editor connection (pygls keeps per-connection state in its server object);
the engines behind them are shared through the `Runtime`. Every handler is `async`, so `$/cancelRequest`
cancels it mid-flight and, through the engine, stops the model work it started.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from engine import __version__
from engine.errors import first_line
from lsp_server.feedback import item_reference, json_field, reported_item
from lsp_server.items import ACCEPT_COMMAND, Placement, completion_items, inline_items
from lsp_server.protocol import CodescalerProtocol, RejectedMessage
from lsp_server.session import Runtime, Session

log = logging.getLogger(__name__)
STATS_REQUEST = "codescaler/stats"
DID_SHOW = "textDocument/didShowCompletion"
DID_PARTIALLY_ACCEPT = "textDocument/didPartiallyAcceptCompletion"


class CodescalerServer(LanguageServer):
    def __init__(self, runtime: Runtime):
        super().__init__("codescaler", __version__, protocol_cls=CodescalerProtocol)
        self.session = Session(self, runtime)
        _register(self)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """What reaches the log and the user. Malformed messages were answered where they were read
        (lsp_server/protocol.py, FrameReader in transports.py) and get a log line, not a popup; so does a
        request's error, which pygls answered already: a warning when the client asked for something wrong
        (an unknown method, bad params), an error when it is a bug. Anything else (a failing notification
        handler, a failed write) also gets pygls' window/showMessage."""
        from pygls.exceptions import FeatureRequestError, JsonRpcInternalError

        if isinstance(error, RejectedMessage):
            log.warning("%s", error)
            return
        if source is FeatureRequestError:
            if isinstance(error, JsonRpcException) and error.code != JsonRpcInternalError.CODE:
                log.warning("answered a request with %s: %s", error.code, first_line(error))
            else:
                log.error("internal error in a request: %s", first_line(error))
            return
        log.error("internal error: %s", error)
        super().report_server_error(error, source)


def _placement(session: Session, request: Any, index: Any) -> Placement:
    encoding = session.server.workspace.position_encoding or "utf-16"
    if request.selected is not None:
        start, end, typed = request.selected
        return Placement(index, start, end, typed, encoding)
    return Placement(index, request.cursor, request.cursor, "", encoding)


WATCHED_GLOB = "**/*.{py,pyi,js,jsx,mjs,ts,tsx,go,rs,java,c,cc,cpp,cxx,h,hh,hpp}"


async def watch_source_files(ls: CodescalerServer) -> None:
    """Ask the client for `workspace/didChangeWatchedFiles` on source files, when it can register
    watchers dynamically (files changed outside the editor: a `git checkout`, a generator)."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    if watched is None or not watched.dynamic_registration or not ls.session.workspace.roots:
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        [types.FileSystemWatcher(glob_pattern=WATCHED_GLOB)]
    )
    registration = types.Registration("codescaler-watch", types.WORKSPACE_DID_CHANGE_WATCHED_FILES, options)
    try:
        await ls.client_register_capability_async(types.RegistrationParams([registration]))
    except Exception as exc:  # a client that refuses: edits in the editor still keep the index current
        log.info("the client did not register file watchers: %s", first_line(exc))


def _register(server: CodescalerServer) -> None:
    session = server.session

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodescalerServer, params: types.InitializeParams) -> None:
        session.set_editor_settings(0, params.initialization_options, "initializationOptions")
        folders = [folder.uri for folder in params.workspace_folders or []]
        session.workspace.set_roots(folders or ([params.root_uri] if params.root_uri else []))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: CodescalerServer, params: types.InitializedParams) -> None:
        session.connect_engine()
        session.workspace.start(session.settings)
        await watch_source_files(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodescalerServer, params: types.DidOpenTextDocumentParams) -> None:
        session.workspace.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodescalerServer, params: types.DidChangeTextDocumentParams) -> None:
        session.workspace.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodescalerServer, params: types.DidCloseTextDocumentParams) -> None:
        session.workspace.closed(params.text_document.uri)
        session.workspace.on_disk(params.text_document.uri, deleted=False)  # the saved text counts now

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: CodescalerServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            session.workspace.on_disk(change.uri, deleted=change.type == types.FileChangeType.Deleted)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: CodescalerServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        session.workspace.set_roots([folder.uri for folder in ls.workspace.folders.values()])
        session.workspace.configure(session.settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: CodescalerServer, params: types.DidChangeConfigurationParams):
        settings = params.settings
        workspace = ls.client_capabilities.workspace
        if not settings and workspace is not None and workspace.configuration:
            # Pull-model clients (VS Code's languageclient) send null and answer workspace/configuration.
            replies = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="codescaler")])
            )
            settings = replies[0] if replies else None
        session.set_editor_settings(1, settings, "workspace configuration")

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: CodescalerServer, params: types.InlineCompletionParams):
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        found = session.request_at(
            params.text_document.uri, params.position, invoked, params.context.selected_completion_info
        )
        if found is None:
            return types.InlineCompletionList(items=[])
        request, index = found
        count = session.settings.completion["invoked_items"] if invoked else 1
        answer = await session.complete(request, "inline", count)
        return types.InlineCompletionList(
            items=inline_items(answer.items, _placement(session, request, index), answer.id)
        )

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "("]))
    async def completion(ls: CodescalerServer, params: types.CompletionParams):
        context = params.context
        invoked = context is None or context.trigger_kind == types.CompletionTriggerKind.Invoked
        found = session.request_at(params.text_document.uri, params.position, invoked)  # Invoked: no debounce
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        request, index = found
        answer = await session.complete(request, "completion")
        placement = _placement(session, request, index)
        return types.CompletionList(
            is_incomplete=True, items=completion_items(answer.items, placement, answer.id)
        )

    @server.command(ACCEPT_COMMAND)
    def accepted(ls: CodescalerServer, *details: Any) -> None:
        session.counts["accepted"] += 1
        log.info("accepted %s", details)
        detail = details[0] if details else None
        session.feedback.report("accepted", item_reference(detail), json_field(detail, "length"))

    @server.feature(DID_SHOW)
    def did_show(ls: CodescalerServer, params: Any) -> None:
        session.counts["shown"] += 1
        session.feedback.report("shown", reported_item(params))

    @server.feature(DID_PARTIALLY_ACCEPT)
    def did_partially_accept(ls: CodescalerServer, params: Any) -> None:
        session.counts["partially_accepted"] += 1
        session.feedback.report("partial", reported_item(params), json_field(params, "acceptedLength"))

    @server.feature(STATS_REQUEST)
    def stats(ls: CodescalerServer, params: Any) -> dict[str, Any]:
        return session.stats()
