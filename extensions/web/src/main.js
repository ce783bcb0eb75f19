// The page: a Monaco editor connected to `codescaler lsp --ws`.
//
// Query parameters (all optional; the form at the top edits the same values):
//   server=ws://127.0.0.1:2087   the language server's websocket URL (wss:// through a TLS proxy)
//   token=T                      for a server started with --ws-token-file (sent as ?token=T)
//   settings={...}               initializationOptions, JSON (docs/lsp.md: models, completion, ...)
//   policy=, reward_model=, engine=, n=, max_new_tokens=, temperature=, threshold=, line_mode=,
//   debounce_ms=                 shortcuts that go into settings.models / settings.completion
//   language=python              the document's language id
//   connect=0                    do not connect on load

import { CodescalerClient } from "./client.js";
import { monaco } from "./monaco.js";

const SAMPLES = {
  python: "# codescaler: type at the end of a line and wait for the grey suggestion; Tab accepts it.\n\ndef fibonacci(n):\n    ",
  javascript: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\n\nfunction fibonacci(n) {\n  \n}\n",
  typescript: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\n\nfunction fibonacci(n: number): number {\n  \n}\n",
  go: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\npackage main\n\nfunc fibonacci(n int) int {\n\t\n}\n",
  rust: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\n\nfn fibonacci(n: u64) -> u64 {\n    \n}\n",
  java: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\n\nclass Main {\n    static int fibonacci(int n) {\n        \n    }\n}\n",
  cpp: "// codescaler: type and wait for the grey suggestion; Tab accepts it.\n\nint fibonacci(int n) {\n    \n}\n",
};
const EXTENSIONS = { python: "py", javascript: "js", typescript: "ts", go: "go", rust: "rs", java: "java", cpp: "cpp" };
const MODEL_KEYS = ["policy", "reward_model", "engine"];
const COMPLETION_KEYS = ["n", "max_new_tokens", "temperature", "threshold", "line_mode", "debounce_ms"];

function settingsFromQuery(query) {
  const settings = query.has("settings") ? JSON.parse(query.get("settings")) : {};
  for (const key of MODEL_KEYS) {
    if (query.has(key)) settings.models = { ...settings.models, [key]: query.get(key) };
  }
  for (const key of COMPLETION_KEYS) {
    if (!query.has(key)) continue;
    const raw = query.get(key);
    const value = raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    settings.completion = { ...settings.completion, [key]: value };
  }
  return settings;
}

// Monaco cancels some of its own timers and leaves the rejected promises unhandled (e.g. a 50 ms wait in
// the inline-suggestion controller when the suggestion changes again): VS Code ignores those, so does the page.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason?.name === "Canceled") event.preventDefault();
});

const query = new URLSearchParams(location.search);
const form = document.getElementById("settings");
const language = query.get("language") ?? "python";
form.server.value = query.get("server") ?? "ws://127.0.0.1:2087";
form.token.value = query.get("token") ?? "";
if (query.has("token")) {
  const address = new URLSearchParams(query);
  address.delete("token"); // read once, then out of the address bar
  history.replaceState(null, "", `?${address}`);
}
form.language.value = language;
let settings = {};
try {
  settings = settingsFromQuery(query);
} catch (error) {
  console.error(`codescaler: the settings parameter is not JSON: ${error.message}`);
}
form.settings.value = Object.keys(settings).length ? JSON.stringify(settings, null, 2) : "";

const model = monaco.editor.createModel(
  SAMPLES[language] ?? "",
  language,
  monaco.Uri.parse(`file:///codescaler-web/main.${EXTENSIONS[language] ?? "txt"}`),
);
const editor = monaco.editor.create(document.getElementById("editor"), {
  model,
  theme: "vs-dark",
  automaticLayout: true,
  fontSize: 14,
  minimap: { enabled: false },
  inlineSuggest: { enabled: true },
  suggest: { preview: false, showInlineDetails: true },
  quickSuggestions: false, // the suggest list opens on Ctrl+Space (client.js says why)
  wordBasedSuggestions: "off", // the suggest widget lists codescaler's items only
});
editor.addAction({
  id: "codescaler.triggerInline",
  label: "codescaler: suggest inline",
  keybindings: [monaco.KeyMod.Alt | monaco.KeyCode.Backslash],
  run: (ed) => ed.trigger("codescaler", "editor.action.inlineSuggest.trigger", {}),
});

const statusline = document.getElementById("statusline");
const STATE_TEXT = { loading: "loading models", ready: "ready", slow: "slow", error: "error", disabled: "disabled" };

function showState(state) {
  const status = state.connection === "connected" ? state.status : null;
  statusline.dataset.connection = state.connection;
  statusline.dataset.state = status?.state ?? "";
  document.getElementById("status-state").textContent =
    state.connection !== "connected" ? state.connection : status ? STATE_TEXT[status.state] ?? status.state : "connected";
  document.getElementById("status-message").textContent = status?.message || state.message;
  document.getElementById("status-message").title = status?.message || state.message;
  document.getElementById("status-busy").textContent = state.inFlight > 0 ? "completing…" : "";
  document.getElementById("status-latency").textContent =
    state.lastLatencyMs === null ? "" : `last ${(state.lastLatencyMs / 1000).toFixed(2)} s`;
}

const client = new CodescalerClient(
  monaco,
  { url: form.server.value, token: form.token.value, initializationOptions: settings },
  showState,
);
client.track(model);

function readSettings() {
  const text = form.settings.value.trim();
  return text ? JSON.parse(text) : {};
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  let next;
  try {
    next = readSettings();
  } catch (error) {
    client.note(`settings are not JSON: ${error.message}`);
    return;
  }
  const url = form.server.value.trim();
  const token = form.token.value;
  const address = new URLSearchParams({ server: url, language: form.language.value });
  if (Object.keys(next).length) address.set("settings", JSON.stringify(next));
  history.replaceState(null, "", `?${address}`); // the token stays out of the address bar
  if (client.ready && url === client.options.url && token === client.options.token) {
    client.changeSettings(next); // same server: live settings
    return;
  }
  client.disconnect();
  Object.assign(client.options, { url, token, initializationOptions: next });
  client.connect();
});
document.getElementById("disconnect").addEventListener("click", () => client.disconnect());
form.language.addEventListener("change", () => {
  monaco.editor.setModelLanguage(model, form.language.value);
  client.reopen(model);
});

// For the browser console and the end-to-end test (e2e/run.mjs).
window.codescaler = { monaco, editor, model, client };

if (query.get("connect") !== "0") client.connect();
