// JSON-RPC 2.0 over one websocket, as `codescaler lsp --ws` speaks it: one message per text frame, no
// Content-Length headers. Requests can be cancelled with a Monaco CancellationToken ($/cancelRequest).

export class ResponseError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export class Cancelled extends Error {
  constructor(method) {
    super(`${method} cancelled`);
  }
}

export class JsonRpcConnection {
  /**
   * @param {WebSocket} socket an open websocket
   * @param {{onNotification?: Function, onRequest?: Function, onClose?: Function}} handlers
   *   onRequest(method, params) answers a request from the server (its return value or a thrown
   *   ResponseError; unknown methods should throw ResponseError(-32601)).
   */
  constructor(socket, handlers = {}) {
    this.socket = socket;
    this.handlers = handlers;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, method}
    this.closed = false;
    socket.addEventListener("message", (event) => this._receive(event.data));
    socket.addEventListener("close", (event) => this._closed(event));
  }

  /** Open `url` and resolve once connected; rejects when the handshake fails (refused, 401, 403). */
  static open(url, handlers) {
    return new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(error);
        return;
      }
      const failed = () => reject(new Error(`could not connect to ${redact(url)}`));
      socket.addEventListener("error", failed, { once: true });
      socket.addEventListener(
        "open",
        () => {
          socket.removeEventListener("error", failed);
          resolve(new JsonRpcConnection(socket, handlers));
        },
        { once: true },
      );
    });
  }

  request(method, params, token) {
    if (this.closed) return Promise.reject(new Error("not connected"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let subscription;
      const settle = (fn) => (value) => {
        subscription?.dispose();
        this.pending.delete(id);
        fn(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), method });
      if (token) {
        if (token.isCancellationRequested) {
          this.pending.delete(id);
          reject(new Cancelled(method));
          return;
        }
        subscription = token.onCancellationRequested(() => {
          if (!this.pending.has(id)) return;
          this.notify("$/cancelRequest", { id });
          this.handlers.onCancel?.(method, id);
          this.pending.get(id).reject(new Cancelled(method));
        });
      }
      this._send({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method, params) {
    if (!this.closed) this._send({ jsonrpc: "2.0", method, params });
  }

  close() {
    this.closed = true;
    this.socket.close();
  }

  _send(message) {
    this.socket.send(JSON.stringify(message));
  }

  async _receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn("codescaler: unreadable frame", data);
      return;
    }
    if (message.method !== undefined && message.id !== undefined) {
      await this._answer(message);
    } else if (message.method !== undefined) {
      this.handlers.onNotification?.(message.method, message.params);
    } else if (this.pending.has(message.id)) {
      const { resolve, reject } = this.pending.get(message.id);
      if (message.error) reject(new ResponseError(message.error.code, message.error.message, message.error.data));
      else resolve(message.result ?? null);
    } else if (message.error && message.error.code !== -32800) {
      // (-32800 answers a request this side cancelled and stopped waiting for)
      console.warn("codescaler: server error", message.error);
    }
  }

  async _answer(message) {
    try {
      const result = await this.handlers.onRequest?.(message.method, message.params);
      this._send({ jsonrpc: "2.0", id: message.id, result: result ?? null });
    } catch (error) {
      const code = error instanceof ResponseError ? error.code : -32603;
      this._send({ jsonrpc: "2.0", id: message.id, error: { code, message: String(error.message ?? error) } });
    }
  }

  _closed(event) {
    this.closed = true;
    for (const { reject, method } of this.pending.values()) reject(new Error(`connection closed during ${method}`));
    this.pending.clear();
    this.handlers.onClose?.(event);
  }
}

/** The URL without its token, for messages. */
export function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has("token")) parsed.searchParams.set("token", "***");
    return parsed.toString();
  } catch {
    return url;
  }
}
