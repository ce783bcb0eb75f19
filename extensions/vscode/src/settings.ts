// VS Code settings (`codescaler.*`) -> how to start `codescaler lsp`, and the server's settings schema
// (docs/lsp.md "Configuration": sections `models`, `completion`, `languages`, `context`, `feedback`).
//
// Only settings the user actually set are sent to the server, so that a codescaler config file
// (~/.config/codescaler/config.toml) still applies to everything the editor leaves alone: the server's
// precedence is defaults < config file < CLI flags < initializationOptions < live changes.

import * as vscode from "vscode";

export const SECTION = "codescaler";
export const TOKEN_SECRET = "codescaler.engineToken";
export const TOKEN_ENV = "CODESCALER_ENGINE_TOKEN";

/** What a changed setting needs: a new server process, or just a live settings change. */
export const RESTART_KEYS = ["server", "engineUrl", "policy", "rewardModel"];

/** VS Code setting -> [server section, server key]. */
const COMPLETION_KEYS: Record<string, string> = {
  n: "n",
  maxNewTokens: "max_new_tokens",
  temperature: "temperature",
  threshold: "threshold",
  invokedItems: "invoked_items",
  debounceMs: "debounce_ms",
  lineMode: "line_mode",
};

export type TriggerMode = "automatic" | "manual";

export interface Launch {
  command: string;
  args: string[];
  /** Human-readable form for the log (no secrets in it: the token travels in the environment). */
  display: string;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** The value the user set (in any scope), or undefined when only the default applies. */
export function userValue<T>(key: string): T | undefined {
  const seen = config().inspect<T>(key);
  if (seen === undefined) {
    return undefined;
  }
  for (const value of [seen.workspaceFolderValue, seen.workspaceValue, seen.globalValue]) {
    if (value !== undefined && value !== null) {
      return value;
    }
  }
  return undefined;
}

function text(key: string): string {
  return (config().get<string>(key) ?? "").trim();
}

/** How to start the server: `codescaler lsp` or `python -m engine.cli.main lsp`, plus `--engine`. */
export function launch(): Launch {
  const pythonPath = text("server.pythonPath");
  const command = pythonPath || text("server.command") || "codescaler";
  const args = pythonPath ? ["-m", "engine.cli.main", "lsp"] : ["lsp"];
  const engineUrl = text("engineUrl");
  if (engineUrl) {
    args.push("--engine", engineUrl);
  }
  args.push(...(config().get<string[]>("server.args") ?? []).map(String));
  return { command, args, display: [command, ...args].join(" ") };
}

/** The server's `models` section, from the model settings (sent once, in initializationOptions). */
export function modelSettings(): Record<string, string> {
  const models: Record<string, string> = {};
  const policy = text("policy");
  const reward = text("rewardModel");
  if (policy) {
    models.policy = policy;
  }
  if (reward) {
    models.reward_model = reward;
  }
  return models;
}

/** The per-language switches, `"*"` being the default for languages not listed. */
export function languageSwitches(): Record<string, boolean> {
  const value = config().get<Record<string, unknown>>("enable") ?? {};
  const switches: Record<string, boolean> = {};
  for (const [language, on] of Object.entries(value)) {
    if (typeof on === "boolean") {
      switches[language] = on;
    }
  }
  return switches;
}

export function masterSwitch(): boolean {
  return config().get<boolean>("enabled") ?? true;
}

/** Whether suggestions are on for documents of `languageId` (the master switch, then `codescaler.enable`). */
export function enabledFor(languageId: string): boolean {
  if (!masterSwitch()) {
    return false;
  }
  const switches = languageSwitches();
  return switches[languageId] ?? switches["*"] ?? true;
}

export function triggerMode(): TriggerMode {
  return config().get<string>("triggerMode") === "manual" ? "manual" : "automatic";
}

/** The live settings layer (`completion` and `languages`): the whole of it each time, so a setting the user
 * removes falls back to the config file or the server's default. */
export function liveSettings(): Record<string, Record<string, unknown>> {
  const completion: Record<string, unknown> = {};
  for (const [key, serverKey] of Object.entries(COMPLETION_KEYS)) {
    const value = userValue<unknown>(key);
    if (value !== undefined) {
      completion[serverKey] = value;
    }
  }
  const on = masterSwitch();
  const switches = languageSwitches();
  // `*` overrides the config file's completion.enabled only when the user set it.
  const star = userValue<Record<string, unknown>>("enable")?.["*"];
  if (!on) {
    completion.enabled = false;
  } else if (typeof star === "boolean") {
    completion.enabled = star;
  }
  const languages: Record<string, boolean> = {};
  for (const [language, value] of Object.entries(switches)) {
    if (language !== "*") {
      languages[language] = on && value;
    }
  }
  const layer: Record<string, Record<string, unknown>> = { completion, languages };
  // Repository context and feedback recording: a workspace (or the user) may turn either off.
  const context = userValue<boolean>("repositoryContext");
  if (context !== undefined) {
    layer.context = { enabled: context };
  }
  const record = userValue<boolean>("recordFeedback");
  if (record !== undefined) {
    layer.feedback = { record };
  }
  return layer;
}

/** initializationOptions: the models only (a change of them restarts the server). The live layer follows
 * at once, before any completion request, and replaces itself on every change; were it also in the
 * initialization layer, a setting removed later would keep its first value. */
export function initializationOptions(): Record<string, Record<string, unknown>> {
  return { models: modelSettings() };
}
