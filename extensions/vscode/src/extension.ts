// The codescaler VS Code extension: starts `codescaler lsp` over stdio (or makes it use a remote engine),
// keeps its settings in sync, and shows what the engine is doing. Inline completion (ghost text, LSP 3.18)
// and completion items (the suggest widget) are vscode-languageclient 11's built-in features; the
// middleware below only applies the editor-side switches (per language, automatic or manual-only).

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State as ClientState,
  type StaticFeature,
  type FeatureState,
  type ClientCapabilities,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type ProgressToken,
} from "vscode-languageclient/node";

import * as settings from "./settings";
import { StatusBar, type State } from "./status";

const STATUS_NOTIFICATION = "codescaler/status";
const STATS_REQUEST = "codescaler/stats";

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): void {
  controller = new Controller(context);
  context.subscriptions.push(controller);
  void controller.start();
}

export async function deactivate(): Promise<void> {
  // Shut the server down (and with it the models it loaded) when the window closes.
  await controller?.stop();
  controller = undefined;
}

/** Feeds `$/progress` of the model load to the status bar (and a window progress indicator), and sends the
 * live settings right after the handshake, before the editor asks for anything. */
class ClientHooks implements StaticFeature {
  private readonly pending = new Set<() => void>();

  constructor(
    private readonly client: LanguageClient,
    private readonly status: StatusBar,
  ) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  initialize(): void {
    // Registered after the built-in progress feature, so this handler replaces its handler.
    this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => this.track(token));
    void this.client
      .sendNotification(DidChangeConfigurationNotification.type, { settings: settings.liveSettings() })
      .catch(() => undefined);
  }

  private track(token: ProgressToken): void {
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.pending.add(finish);
    let report: vscode.Progress<{ message?: string }> | undefined;
    const subscription = this.client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === "begin") {
        this.status.progress(value.message ?? value.title);
        void vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: value.title },
          (progress) => {
            report = progress;
            progress.report({ message: value.message });
            return finished;
          },
        );
      } else if (value.kind === "report") {
        this.status.progress(value.message);
        report?.report({ message: value.message });
      } else {
        this.status.progress(undefined);
        subscription.dispose();
        this.pending.delete(finish);
        finish();
      }
    });
  }

  clear(): void {
    for (const finish of this.pending) {
      finish();
    }
    this.pending.clear();
  }
}

class Controller implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel("codescaler", { log: true });
  private readonly status = new StatusBar();
  private readonly disposables: vscode.Disposable[] = [];
  private client: LanguageClient | undefined;
  private hooks: ClientHooks | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly context: vscode.ExtensionContext) {
    const command = (id: string, run: () => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, run));
    command("codescaler.restartServer", () => this.restart());
    command("codescaler.showLog", () => this.output.show(true));
    command("codescaler.toggle", () => this.toggle());
    command("codescaler.setEngineToken", () => this.setToken());
    command("codescaler.clearEngineToken", () => this.clearToken());
    command("codescaler.suggestInline", () => vscode.commands.executeCommand("editor.action.inlineSuggest.trigger"));
    command("codescaler.showStats", () => this.showStats());
    command("codescaler.showMenu", () => this.showMenu());
    this.disposables.push(
      this.output,
      this.status,
      vscode.workspace.onDidChangeConfiguration((event) => this.onSettings(event)),
      context.secrets.onDidChange((event) => {
        if (event.key === settings.TOKEN_SECRET) {
          this.output.info("engine token changed: restarting the language server");
          void this.restart();
        }
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.showSwitch()),
    );
    this.showSwitch();
  }

  /** Runs `step` after every earlier start/stop/restart. */
  private serial(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  start(): Promise<void> {
    return this.serial(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.serial(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  private async doStart(): Promise<void> {
    const launch = settings.launch();
    const token = await this.context.secrets.get(settings.TOKEN_SECRET);
    // The token goes to the server in its environment: never on its command line (visible in `ps`), never
    // in settings (synced, shared, committed).
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (token) {
      env[settings.TOKEN_ENV] = token;
    }
    const cwd = vscode.workspace.workspaceFolders?.find((folder) => folder.uri.scheme === "file")?.uri.fsPath;
    const serverOptions: ServerOptions = { command: launch.command, args: launch.args, options: { env, cwd } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.output,
      initializationOptions: settings.initializationOptions(),
      middleware: {
        provideInlineCompletionItems: (document, position, context, cancel, next) => {
          if (!settings.enabledFor(document.languageId)) {
            return null;
          }
          if (
            context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic &&
            settings.triggerMode() === "manual"
          ) {
            return null;
          }
          return next(document, position, context, cancel);
        },
        provideCompletionItem: (document, position, context, cancel, next) =>
          settings.enabledFor(document.languageId) ? next(document, position, context, cancel) : null,
        workspace: {
          // The server pulls section `codescaler` when a change arrives without settings: answer in its
          // schema, not VS Code's setting names.
          configuration: async (params, cancel, next) => {
            const answers = await next(params, cancel);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, i) =>
              item.section === settings.SECTION ? settings.liveSettings() : answers[i],
            );
          },
        },
      },
    };
    const client = new LanguageClient("codescaler", "codescaler", serverOptions, clientOptions);
    const hooks = new ClientHooks(client, this.status);
    client.registerFeature(hooks);
    client.onNotification(STATUS_NOTIFICATION, (params: { state?: string; message?: string }) => {
      const state = (params?.state ?? "error") as State;
      this.status.set(state, params?.message ?? "");
      this.output.info(`status: ${state}${params?.message ? ` (${params.message})` : ""}`);
    });
    client.onDidChangeState(({ newState }) => {
      if (newState === ClientState.Starting) {
        this.status.set("starting");
      } else if (newState === ClientState.Stopped && this.client === client) {
        this.status.set("stopped", "run “codescaler: Restart Server”; see “codescaler: Show Log”");
      }
    });
    this.client = client;
    this.hooks = hooks;
    this.status.set("starting", launch.display);
    this.output.info(`starting: ${launch.display}${token ? " (engine token from the secret storage)" : ""}`);
    try {
      await client.start();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.status.set("error", `cannot start \`${launch.display}\`: ${message}`);
      this.output.error(`cannot start ${launch.display}: ${message}`);
      void vscode.window
        .showErrorMessage(
          `codescaler: cannot start the language server (${launch.command}): ${message}. ` +
            "Set codescaler.server.command or codescaler.server.pythonPath.",
          "Open Settings",
          "Show Log",
        )
        .then((choice) => {
          if (choice === "Open Settings") {
            void vscode.commands.executeCommand("workbench.action.openSettings", "codescaler.server");
          } else if (choice === "Show Log") {
            this.output.show(true);
          }
        });
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.hooks?.clear();
    this.hooks = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.dispose(5000);
    } catch (error) {
      this.output.warn(`stopping the language server: ${error instanceof Error ? error.message : error}`);
    }
  }

  private onSettings(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(settings.SECTION)) {
      return;
    }
    this.showSwitch();
    if (settings.RESTART_KEYS.some((key) => event.affectsConfiguration(`${settings.SECTION}.${key}`))) {
      this.output.info("server settings changed: restarting the language server");
      void this.restart();
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      void client
        .sendNotification(DidChangeConfigurationNotification.type, { settings: settings.liveSettings() })
        .catch((error) => this.output.warn(`sending settings: ${error}`));
    }
  }

  /** The status bar says when suggestions are off for the active editor. */
  private showSwitch(): void {
    const language = vscode.window.activeTextEditor?.document.languageId;
    if (!settings.masterSwitch()) {
      this.status.switchedOff("switched off (codescaler: Toggle Suggestions)");
    } else if (language !== undefined && !settings.enabledFor(language)) {
      this.status.switchedOff(`off for ${language} (codescaler.enable)`);
    } else {
      this.status.switchedOff(undefined);
    }
  }

  private async toggle(): Promise<void> {
    const on = !settings.masterSwitch();
    await vscode.workspace
      .getConfiguration(settings.SECTION)
      .update("enabled", on, vscode.ConfigurationTarget.Global);
    void vscode.window.setStatusBarMessage(`codescaler: suggestions ${on ? "on" : "off"}`, 3000);
  }

  private async setToken(): Promise<void> {
    const token = await vscode.window.showInputBox({
      title: "codescaler: engine token",
      prompt: "The token of the `codescaler serve` engine named in codescaler.engineUrl (kept in VS Code's secret storage)",
      password: true,
      ignoreFocusOut: true,
    });
    if (token === undefined) {
      return;
    }
    if (!token.trim()) {
      void vscode.window.showWarningMessage("codescaler: empty token ignored (use “Clear Engine Token” to remove it)");
      return;
    }
    await this.context.secrets.store(settings.TOKEN_SECRET, token.trim()); // onDidChange restarts the server
    void vscode.window.showInformationMessage("codescaler: engine token saved");
  }

  private async clearToken(): Promise<void> {
    await this.context.secrets.delete(settings.TOKEN_SECRET);
    void vscode.window.showInformationMessage("codescaler: engine token removed");
  }

  private async showStats(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      void vscode.window.showWarningMessage("codescaler: the language server is not running");
      return;
    }
    const stats = await client.sendRequest(STATS_REQUEST, {});
    this.output.info(`stats: ${JSON.stringify(stats, null, 2)}`);
    this.output.show(true);
  }

  private async showMenu(): Promise<void> {
    const on = settings.masterSwitch();
    const entries: Array<vscode.QuickPickItem & { command: string; args?: unknown[] }> = [
      { label: on ? "$(circle-slash) Turn suggestions off" : "$(check) Turn suggestions on", command: "codescaler.toggle" },
      { label: "$(sparkle) Suggest inline here", command: "codescaler.suggestInline" },
      { label: "$(output) Show log", command: "codescaler.showLog" },
      { label: "$(graph) Show statistics", command: "codescaler.showStats" },
      { label: "$(debug-restart) Restart server", command: "codescaler.restartServer" },
      { label: "$(key) Set engine token", command: "codescaler.setEngineToken" },
      { label: "$(settings-gear) Settings", command: "workbench.action.openSettings", args: ["codescaler"] },
    ];
    const picked = await vscode.window.showQuickPick(entries, {
      title: `codescaler: ${this.status.state}`,
    });
    if (picked) {
      await vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
    }
  }

  dispose(): void {
    void this.stop();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
