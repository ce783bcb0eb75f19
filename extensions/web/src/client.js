// A small LSP client for Monaco and `codescaler lsp --ws`: initialize, document sync, inline completion
// (ghost text), completion (the suggest widget), the codescaler.accepted command and codescaler/status.
//
// Positions: Monaco counts columns in UTF-16 code units from 1, LSP in the negotiated encoding from 0.
// The client offers only utf-16, which every LSP server must support, so conversion is an offset of one.

import { Cancelled, JsonRpcConnection, ResponseError, redact } from "./jsonrpc.js";

const LSP_INVOKED = 1; // InlineCompletionTriggerKind in LSP 3.18: Invoked = 1, Automatic = 2
const LSP_AUTOMATIC = 2;
const LSP_KINDS = [
  "Text", "Method", "Function", "Constructor", "Field", "Variable", "Class", "Interface", "Module",
  "Property", "Unit", "Value", "Enum", "Keyword", "Snippet", "Color", "File", "Reference", "Folder",
  "EnumMember", "Constant", "Struct", "Event", "Operator", "TypeParameter",
]; // LSP CompletionItemKind n is LSP_KINDS[n - 1]; Monaco numbers the same names differently
const RETRY_MS = [500, 1000, 2000, 5000, 10000];

export class CodescalerClient {
  /**
   * @param monaco the Monaco API
   * @param {{url: string, token?: string, initializationOptions?: object}} options
   * @param {(state: object) => void} onState called whenever what the status line shows changes
   */
  constructor(monaco, options, onState) {
    this.monaco = monaco;
    this.options = options;
    this.onState = onState;
    this.connection = null;
    this.capabilities = null;
    this.documents = new Map(); // uri -> {model, listener}
    this.connectionState = "disconnected";
    this.serverStatus = null; // the last codescaler/status params
    this.message = "";
    this.inFlight = 0;
    this.lastLatencyMs = null;
    this.lastRequestAt = 0; // when the last completion request went out (Date.now())
    this.events = []; // what happened, for the status line's log and for tests
    this.commands = new Map(); // command id -> Monaco disposable
    this.stopped = false;
    this.generation = 0;
    this.retry = 0;
    this.retryTimer = null;
    this.inlineProvider = monaco.languages.registerInlineCompletionsProvider("*", this._inlineProvider());
    this.completionProvider = null; // registered after each initialize
  }

  // ---- connection -----------------------------------------------------------------------------------

  async connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    const generation = ++this.generation; // a later connect() or disconnect() makes this attempt stale
    const url = withToken(this.options.url, this.options.token);
    this._setConnection("connecting", `connecting to ${redact(url)}`);
    let connection;
    try {
      connection = await JsonRpcConnection.open(url, {
        onNotification: (method, params) => this._notification(method, params),
        onRequest: (method, params) => this._request(method, params),
        onClose: (event) => this._closed(connection, event),
        onCancel: (method, id) => this._event({ type: "cancel", method, id }),
      });
    } catch (error) {
      if (generation !== this.generation) return;
      this._setConnection(
        "disconnected",
        `${error.message}: is \`codescaler lsp --ws\` running there? A page from another site needs ` +
          "--allow-origin, a server off loopback a token",
      );
      this._scheduleRetry();
      return;
    }
    if (generation !== this.generation) {
      connection.close();
      return;
    }
    this.connection = connection;
    try {
      const reply = await connection.request("initialize", this._initializeParams());
      this.capabilities = reply.capabilities ?? {};
      this.serverInfo = reply.serverInfo ?? null;
      const encoding = this.capabilities.positionEncoding ?? "utf-16";
      if (encoding !== "utf-16") console.warn(`codescaler: server chose ${encoding}; positions assume utf-16`);
      connection.notify("initialized", {});
      for (const id of this.capabilities.executeCommandProvider?.commands ?? []) this._registerCommand(id);
      this.completionProvider?.dispose();
      // The suggest list opens on Ctrl+Space only, not on the server's trigger characters: the server
      // answers only the newest request per document, so the inline request that follows every keystroke
      // would cancel a list opened by typing "." (it comes back empty). See README.md.
      this.completionProvider = this.monaco.languages.registerCompletionItemProvider("*", this._completionProvider([]));
      for (const { model } of this.documents.values()) this._didOpen(model);
      this.retry = 0;
      const name = this.serverInfo ? `${this.serverInfo.name} ${this.serverInfo.version ?? ""}`.trim() : "server";
      this._setConnection("connected", `connected to ${name}`);
    } catch (error) {
      if (generation !== this.generation) return;
      this._setConnection("disconnected", `initialize failed: ${error.message}`);
      connection.close();
    }
  }

  disconnect() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = null;
    if (connection && !connection.closed) {
      connection.request("shutdown", null).catch(() => {}).finally(() => {
        connection.notify("exit", null);
        connection.close();
      });
    }
    this._setConnection("disconnected", "disconnected");
  }

  /** New settings: sent live (workspace/didChangeConfiguration) when connected. */
  changeSettings(initializationOptions) {
    this.options.initializationOptions = initializationOptions;
    if (this.ready) {
      this.connection.notify("workspace/didChangeConfiguration", { settings: initializationOptions ?? {} });
    }
  }

  /** Show `message` on the status line. */
  note(message) {
    this.message = message;
    this._emitState();
  }

  get ready() {
    return this.connection !== null && !this.connection.closed && this.capabilities !== null;
  }

  /** A request through the connection (e.g. `codescaler/stats`), for the console and tests. */
  request(method, params) {
    if (!this.ready) return Promise.reject(new Error("not connected"));
    return this.connection.request(method, params);
  }

  _initializeParams() {
    return {
      processId: null,
      clientInfo: { name: "codescaler-web", version: "0.1.0" },
      rootUri: null,
      workspaceFolders: null,
      initializationOptions: this.options.initializationOptions ?? null,
      capabilities: {
        general: { positionEncodings: ["utf-16"] },
        textDocument: {
          synchronization: { dynamicRegistration: false, didSave: false },
          completion: {
            completionItem: { snippetSupport: true, documentationFormat: ["markdown", "plaintext"] },
            contextSupport: true,
          },
          inlineCompletion: { dynamicRegistration: false },
        },
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
        window: { workDoneProgress: true, showMessage: {} },
      },
    };
  }

  _closed(connection, event) {
    if (connection !== this.connection) return;
    this.connection = null;
    this.capabilities = null;
    if (this.stopped) return;
    this._setConnection("disconnected", `connection closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
    this._scheduleRetry();
  }

  _scheduleRetry() {
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.retry, RETRY_MS.length - 1)];
    this.retry += 1;
    this.message = `${this.message}; retrying in ${(delay / 1000).toFixed(1)} s`;
    this._emitState();
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  _setConnection(state, message) {
    this.connectionState = state;
    this.message = message;
    if (state !== "connected") this.serverStatus = null;
    this._event({ type: "connection", state, message });
    this._emitState();
  }

  _emitState() {
    this.onState?.({
      connection: this.connectionState,
      message: this.message,
      status: this.serverStatus,
      inFlight: this.inFlight,
      lastLatencyMs: this.lastLatencyMs,
    });
  }

  _event(event) {
    this.events.push({ time: Date.now(), ...event });
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
  }

  // ---- messages from the server ---------------------------------------------------------------------

  _notification(method, params) {
    switch (method) {
      case "codescaler/status":
        this.serverStatus = params;
        this._event({ ...params, type: "status" });
        this._emitState();
        break;
      case "window/showMessage":
        this.message = params.message;
        this._event({ ...params, kind: params.type, type: "showMessage" });
        this._emitState();
        break;
      case "window/logMessage":
        this._event({ ...params, kind: params.type, type: "log" });
        console.info(params.message);
        break;
      case "$/progress":
        if (params?.value?.message) {
          this.message = `${params.value.title ?? "codescaler"}: ${params.value.message}`;
          this._emitState();
        }
        break;
      default:
        break;
    }
  }

  async _request(method, params) {
    switch (method) {
      case "window/workDoneProgress/create":
      case "client/registerCapability":
      case "client/unregisterCapability":
        return null;
      case "workspace/configuration":
        return (params?.items ?? []).map((item) =>
          !item.section || item.section === "codescaler" ? (this.options.initializationOptions ?? {}) : null,
        );
      case "window/showMessageRequest":
        this.message = params.message;
        this._emitState();
        return null;
      default:
        throw new ResponseError(-32601, `unhandled method ${method}`);
    }
  }

  // ---- documents ------------------------------------------------------------------------------------

  /** Keep `model` in sync with the server (didOpen, didChange, didClose). */
  track(model) {
    const uri = model.uri.toString();
    if (this.documents.has(uri)) return;
    const listener = model.onDidChangeContent((event) => this._didChange(model, event));
    const disposal = model.onWillDispose(() => this.untrack(model));
    this.documents.set(uri, { model, listener, disposal });
    if (this.ready) this._didOpen(model);
  }

  untrack(model) {
    const uri = model.uri.toString();
    const document = this.documents.get(uri);
    if (!document) return;
    document.listener.dispose();
    document.disposal.dispose();
    this.documents.delete(uri);
    if (this.ready) this.connection.notify("textDocument/didClose", { textDocument: { uri } });
  }

  /** The language changed: the server sees the document closed and opened again. */
  reopen(model) {
    if (!this.ready) return;
    this.connection.notify("textDocument/didClose", { textDocument: { uri: model.uri.toString() } });
    this._didOpen(model);
  }

  _didOpen(model) {
    this.connection.notify("textDocument/didOpen", {
      textDocument: {
        uri: model.uri.toString(),
        languageId: model.getLanguageId(),
        version: model.getVersionId(),
        text: model.getValue(),
      },
    });
  }

  _didChange(model, event) {
    if (!this.ready) return;
    const sync = this.capabilities.textDocumentSync;
    const kind = typeof sync === "number" ? sync : (sync?.change ?? 0);
    if (kind === 0) return;
    const textDocument = { uri: model.uri.toString(), version: model.getVersionId() };
    // Monaco lists the changes of one edit so that applying them in order gives the new text, as LSP wants.
    const contentChanges =
      kind === 2
        ? event.changes.map((change) => ({
            range: toLspRange(change.range),
            rangeLength: change.rangeLength,
            text: change.text,
          }))
        : [{ text: model.getValue() }];
    this.connection.notify("textDocument/didChange", { textDocument, contentChanges });
  }

  // ---- features -------------------------------------------------------------------------------------

  async _timed(method, params, token) {
    this.inFlight += 1;
    this.lastRequestAt = Date.now();
    this._emitState();
    const started = performance.now();
    try {
      const result = await this.connection.request(method, params, token);
      this.lastLatencyMs = performance.now() - started;
      return result;
    } finally {
      this.inFlight -= 1;
      this._emitState();
    }
  }

  _inlineProvider() {
    const monaco = this.monaco;
    return {
      displayName: "codescaler",
      provideInlineCompletions: async (model, position, context, token) => {
        if (!this.ready || !this.capabilities.inlineCompletionProvider || !this._tracked(model)) return { items: [] };
        const explicit = context.triggerKind === monaco.languages.InlineCompletionTriggerKind.Explicit;
        const lspContext = { triggerKind: explicit ? LSP_INVOKED : LSP_AUTOMATIC };
        const selected = context.selectedSuggestionInfo;
        if (selected) lspContext.selectedCompletionInfo = { range: toLspRange(selected.range), text: selected.text };
        const params = { textDocument: { uri: model.uri.toString() }, position: toLspPosition(position), context: lspContext };
        let result;
        try {
          result = await this._timed("textDocument/inlineCompletion", params, token);
        } catch (error) {
          if (!(error instanceof Cancelled)) this._failed("inline completion", error);
          return { items: [] };
        }
        const lspItems = Array.isArray(result) ? result : (result?.items ?? []);
        const items = lspItems.map((item) => ({
          insertText: typeof item.insertText === "string" ? item.insertText : { snippet: item.insertText.value },
          filterText: item.filterText,
          range: item.range ? toMonacoRange(monaco, item.range) : undefined,
          command: toMonacoCommand(item.command),
          lspItem: item,
        }));
        this._event({ type: "inline", triggerKind: lspContext.triggerKind, selected: !!selected, items: lspItems });
        return { items };
      },
      handleItemDidShow: (completions, item) => {
        if (this.ready) this.connection.notify("textDocument/didShowCompletion", { item: item.lspItem });
        this._event({ type: "shown", item: item.lspItem });
      },
      handlePartialAccept: (completions, item, acceptedCharacters, info) => {
        const acceptedLength = info?.acceptedLength ?? acceptedCharacters;
        if (this.ready) {
          this.connection.notify("textDocument/didPartiallyAcceptCompletion", { item: item.lspItem, acceptedLength });
        }
      },
      disposeInlineCompletions: () => {},
    };
  }

  _completionProvider(triggerCharacters) {
    const monaco = this.monaco;
    const client = this;
    return {
      triggerCharacters,
      async provideCompletionItems(model, position, context, token) {
        if (!client.ready || !client.capabilities.completionProvider || !client._tracked(model)) return { suggestions: [] };
        // Monaco: Invoke 0, TriggerCharacter 1, TriggerForIncompleteCompletions 2; LSP counts from 1.
        const lspContext = { triggerKind: context.triggerKind + 1 };
        if (context.triggerCharacter) lspContext.triggerCharacter = context.triggerCharacter;
        const params = { textDocument: { uri: model.uri.toString() }, position: toLspPosition(position), context: lspContext };
        let result;
        try {
          result = await client._timed("textDocument/completion", params, token);
        } catch (error) {
          if (!(error instanceof Cancelled)) client._failed("completion", error);
          return { suggestions: [] };
        }
        const list = Array.isArray(result) ? { items: result, isIncomplete: false } : (result ?? { items: [] });
        const word = model.getWordUntilPosition(position);
        const fallback = new monaco.Range(position.lineNumber, word.startColumn, position.lineNumber, position.column);
        const suggestions = list.items.map((item) => toMonacoCompletion(monaco, item, fallback));
        client._event({ type: "completion", triggerKind: lspContext.triggerKind, items: list.items });
        return { suggestions, incomplete: !!list.isIncomplete };
      },
    };
  }

  _tracked(model) {
    return this.documents.has(model.uri.toString());
  }

  _failed(what, error) {
    this._event({ type: "error", what, message: error.message });
    console.warn(`codescaler: ${what} failed: ${error.message}`);
  }

  _registerCommand(id) {
    if (this.commands.has(id)) return;
    const disposable = this.monaco.editor.registerCommand(id, async (_accessor, ...args) => {
      if (!this.ready) return null;
      try {
        const result = await this.connection.request("workspace/executeCommand", { command: id, arguments: args });
        this._event({ type: "command", command: id, arguments: args });
        return result;
      } catch (error) {
        this._failed(`command ${id}`, error);
        return null;
      }
    });
    this.commands.set(id, disposable);
  }
}

// ---- conversions ------------------------------------------------------------------------------------

function withToken(url, token) {
  if (!token) return url;
  const parsed = new URL(url);
  parsed.searchParams.set("token", token); // browsers cannot set an Authorization header on websockets
  return parsed.toString();
}

export function toLspPosition(position) {
  return { line: position.lineNumber - 1, character: position.column - 1 };
}

export function toLspRange(range) {
  return {
    start: { line: range.startLineNumber - 1, character: range.startColumn - 1 },
    end: { line: range.endLineNumber - 1, character: range.endColumn - 1 },
  };
}

export function toMonacoRange(monaco, range) {
  return new monaco.Range(range.start.line + 1, range.start.character + 1, range.end.line + 1, range.end.character + 1);
}

function toMonacoCommand(command) {
  return command ? { id: command.command, title: command.title, arguments: command.arguments } : undefined;
}

function toMonacoCompletion(monaco, item, fallback) {
  const kinds = monaco.languages.CompletionItemKind;
  const edit = item.textEdit;
  let range = fallback;
  let insertText = item.insertText ?? item.label;
  if (edit) {
    insertText = edit.newText;
    range = edit.range
      ? toMonacoRange(monaco, edit.range)
      : { insert: toMonacoRange(monaco, edit.insert), replace: toMonacoRange(monaco, edit.replace) };
  }
  const documentation =
    typeof item.documentation === "object" && item.documentation !== null
      ? item.documentation.kind === "markdown"
        ? { value: item.documentation.value }
        : item.documentation.value
      : item.documentation;
  return {
    label: item.label,
    kind: kinds[LSP_KINDS[(item.kind ?? 1) - 1]] ?? kinds.Text,
    detail: item.detail,
    documentation,
    sortText: item.sortText,
    filterText: item.filterText,
    insertText,
    insertTextRules: item.insertTextFormat === 2 ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
    range,
    command: toMonacoCommand(item.command),
  };
}
