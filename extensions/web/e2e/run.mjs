// End-to-end check of the page against a running `codescaler lsp --ws`, in headless Chromium.
//
//   node e2e/run.mjs --page 'http://127.0.0.1:8080/?server=ws://127.0.0.1:2087&settings=...' \
//        --screenshot /tmp/ghost.png [--doc-json '"# note: \nx = 1\n"'] [--timeout-ms 90000]
//
// It types at the end of the document's first line, waits for Monaco's ghost text, takes a screenshot,
// accepts it with Tab, opens the suggest widget with Ctrl+Space and accepts its first item with Enter.
// It prints one JSON object (the last line of stdout) with what it saw; the caller judges it. Exit status
// 1 when a step timed out or the page failed (the JSON then has "error" and the page's events).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: options } = parseArgs({
  options: {
    page: { type: "string" },
    screenshot: { type: "string" },
    "suggest-screenshot": { type: "string" },
    "doc-json": { type: "string", default: JSON.stringify("# note: \nx = 1\n") },
    typed: { type: "string", default: "see" },
    "timeout-ms": { type: "string", default: "90000" },
    chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" },
  },
});
if (!options.page || !options.screenshot) {
  console.error("usage: node e2e/run.mjs --page URL --screenshot PNG [--doc-json JSON] [--timeout-ms MS]");
  process.exit(2);
}
const timeout = Number(options["timeout-ms"]);
const doc = JSON.parse(options["doc-json"]);
const result = { ok: false, steps: {}, console: [], pageErrors: [] };
const started = Date.now();
let step = "launch";

function mark(name) {
  result.steps[name] = (Date.now() - started) / 1000;
  step = name;
}

/** Text of the ghost-text DOM elements Monaco renders for an inline suggestion. */
function ghostText() {
  const elements = [...document.querySelectorAll(".ghost-text-decoration, .ghost-text")];
  return {
    count: elements.length,
    classes: [...new Set(elements.map((element) => element.className))],
    text: elements.map((element) => element.textContent).join("\n").replace(/\u00a0/g, " "),
  };
}

const userDataDir = await mkdtemp(join(tmpdir(), "codescaler-chromium-"));
let context;
let page;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: options.chromium,
    headless: true,
    viewport: { width: 1000, height: 420 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => result.console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => result.pageErrors.push(error.stack || String(error)));
  mark("page");
  await page.goto(options.page);
  await page.waitForFunction(() => window.codescaler?.client.ready);
  mark("connected");
  // The models load after `initialized`; the status line turns "ready" on codescaler/status.
  await page.waitForFunction(() => document.getElementById("statusline").dataset.state === "ready");
  result.statusLine = await page.locator("#statusline").innerText();
  mark("ready");

  await page.evaluate((text) => {
    const { editor, model } = window.codescaler;
    model.setValue(text);
    editor.setPosition({ lineNumber: 1, column: model.getLineMaxColumn(1) });
    editor.focus();
  }, doc);
  // Type all but the last character, and the last one while the inline request for the others is in
  // flight: Monaco cancels that request, and the page sends $/cancelRequest for it.
  await page.keyboard.type(options.typed.slice(0, -1), { delay: 40 });
  await page.waitForFunction(() => window.codescaler.client.inFlight > 0, null, { polling: 10 });
  await page.keyboard.type(options.typed.slice(-1));
  mark("typed");
  await page.waitForFunction(() => {
    const ghost = [...document.querySelectorAll(".ghost-text-decoration, .ghost-text")];
    return ghost.some((element) => element.textContent.length > 0);
  });
  mark("ghost");
  result.ghost = await page.evaluate(ghostText);
  await page.screenshot({ path: options.screenshot });
  result.screenshot = options.screenshot;

  const before = await page.evaluate(() => window.codescaler.model.getValue());
  await page.keyboard.press("Tab");
  await page.waitForFunction((text) => window.codescaler.model.getValue() !== text, before);
  await page.waitForFunction(() => window.codescaler.client.events.some((event) => event.type === "command"));
  mark("accepted");
  result.accept = await page.evaluate(
    ({ before }) => ({
      before,
      after: window.codescaler.model.getValue(),
      inline: window.codescaler.client.events.filter((event) => event.type === "inline"),
      commands: window.codescaler.client.events.filter((event) => event.type === "command"),
      cancels: window.codescaler.client.events.filter((event) => event.type === "cancel").length,
    }),
    { before },
  );

  await page.keyboard.press("Escape");
  await page.keyboard.press("End");
  // Let the automatic inline request that followed the edit go out and come back first: the server answers
  // only the newest request per document, so a later one would cancel the suggest widget's (see README.md).
  const quietSince = await page.evaluate(() => Date.now());
  await page.waitForFunction((since) => {
    const { client } = window.codescaler;
    return client.inFlight === 0 && Date.now() - Math.max(client.lastRequestAt, since) > 1000;
  }, quietSince, { polling: 100 });
  await page.keyboard.press("Control+Space");
  await page.waitForSelector(".suggest-widget.visible .monaco-list-row");
  await page.waitForFunction(() => !document.querySelector(".suggest-widget.visible .monaco-list-row .codicon-loading"));
  mark("suggest");
  result.suggest = await page.evaluate(() => ({
    rows: [...document.querySelectorAll(".suggest-widget.visible .monaco-list-row")].map((row) => ({
      label: row.querySelector(".label-name")?.textContent ?? "",
      detail: row.querySelector(".details-label")?.textContent ?? "",
      aria: row.getAttribute("aria-label") ?? "",
    })),
    completions: window.codescaler.client.events.filter((event) => event.type === "completion"),
  }));
  if (options["suggest-screenshot"]) await page.screenshot({ path: options["suggest-screenshot"] });
  const beforeSuggest = await page.evaluate(() => window.codescaler.model.getValue());
  await page.keyboard.press("Enter");
  await page.waitForFunction((text) => window.codescaler.model.getValue() !== text, beforeSuggest);
  mark("suggestAccepted");
  result.suggestAccept = { before: beforeSuggest, after: await page.evaluate(() => window.codescaler.model.getValue()) };

  result.stats = await page.evaluate(() => window.codescaler.client.request("codescaler/stats", null));
  result.ok = true;
} catch (error) {
  result.error = `${step}: ${error.message.split("\n")[0]}`;
  if (page) {
    result.statusLine = await page.locator("#statusline").innerText().catch(() => null);
    result.events = await page.evaluate(() => window.codescaler?.client.events).catch(() => null);
    const failure = options.screenshot.replace(/\.png$/, "") + "-failure.png";
    if (await page.screenshot({ path: failure }).then(() => true, () => false)) result.failureScreenshot = failure;
  }
} finally {
  result.seconds = (Date.now() - started) / 1000;
  await context?.close().catch(() => {});
  await rm(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
