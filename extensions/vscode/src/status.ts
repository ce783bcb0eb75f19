// The status bar item: what the engine is doing, from the server's `codescaler/status` notifications
// (`{"state": "loading" | "ready" | "slow" | "error" | "disabled", "message"}`, see lsp_server/status.py),
// its `$/progress` while models load, and the client's own state (starting, stopped, switched off).

import * as vscode from "vscode";

export type State =
  | "starting"
  | "loading"
  | "ready"
  | "slow"
  | "error"
  | "disabled"
  | "off"
  | "stopped";

const LOOK: Record<State, { icon: string; words: string; background?: string }> = {
  starting: { icon: "$(loading~spin)", words: "starting the language server" },
  loading: { icon: "$(loading~spin)", words: "loading models" },
  ready: { icon: "$(sparkle)", words: "ready" },
  slow: { icon: "$(watch)", words: "slow", background: "statusBarItem.warningBackground" },
  error: { icon: "$(error)", words: "error", background: "statusBarItem.errorBackground" },
  disabled: { icon: "$(circle-slash)", words: "disabled by the server" },
  off: { icon: "$(circle-slash)", words: "suggestions off" },
  stopped: { icon: "$(debug-disconnect)", words: "language server stopped", background: "statusBarItem.errorBackground" },
};

export class StatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private serverState: State = "starting";
  private serverMessage = "";
  private progressMessage = "";
  private offFor: string | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem("codescaler.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "codescaler";
    this.item.command = "codescaler.showMenu";
    this.render();
    this.item.show();
  }

  get state(): State {
    return this.serverState;
  }

  /** The server's (or the client's) state. */
  set(state: State, message = ""): void {
    this.serverState = state;
    this.serverMessage = message;
    if (state !== "loading") {
      this.progressMessage = "";
    }
    this.render();
  }

  /** `$/progress` of the model load. */
  progress(message: string | undefined): void {
    this.progressMessage = message ?? "";
    this.render();
  }

  /** Suggestions switched off for the active editor: `undefined` when they are on, else why. */
  switchedOff(why: string | undefined): void {
    this.offFor = why;
    this.render();
  }

  private render(): void {
    const state: State = this.offFor !== undefined && this.serverState === "ready" ? "off" : this.serverState;
    const look = LOOK[state];
    const detail = state === "off" ? this.offFor ?? "" : this.progressMessage || this.serverMessage;
    this.item.text = `${look.icon} codescaler`;
    this.item.backgroundColor = look.background ? new vscode.ThemeColor(look.background) : undefined;
    const tooltip = new vscode.MarkdownString(`**codescaler**: ${look.words}${detail ? ` — ${detail}` : ""}`);
    if (state === "error" && /\b401\b|\btoken\b/i.test(detail)) {
      tooltip.appendMarkdown("\n\nRun **codescaler: Set Engine Token** (the token is kept in VS Code's secret storage).");
    }
    tooltip.appendMarkdown("\n\nClick for the codescaler menu (toggle, log, restart, engine token).");
    this.item.tooltip = tooltip;
    // Screen readers, and the end-to-end test, read the state here.
    this.item.accessibilityInformation = { label: `codescaler ${state}${detail ? `: ${detail}` : ""}` };
  }

  dispose(): void {
    this.item.dispose();
  }
}
