// End-to-end driver: a real VS Code (code-server) in headless Chromium, with the codescaler extension
// installed, typing at the end of a comment line. Run by tests/editors/test_vscode.py, which starts
// code-server and judges the JSON this script writes; it can be run by hand against any code-server:
//
//   CODESCALER_E2E_URL='http://127.0.0.1:8080/?folder=/path/work' CODESCALER_E2E_FILE=demo.py \
//   CODESCALER_E2E_LINE=1 CODESCALER_E2E_OUT=/tmp/e2e node e2e/drive.mjs
//
// What it does, with a screenshot at each stage that matters (and one on any failure):
//  1. open the file (Quick Open); with CODESCALER_E2E_TOKEN, run "codescaler: Set Engine Token" and type
//     it once the status bar shows the engine's refusal (the extension restarts the server with it);
//     wait for the status bar item to say "codescaler ready";
//  2. go to the end of line CODESCALER_E2E_LINE, type; wait for inline ghost text (with CODESCALER_E2E_MANUAL=1:
//     none may come until "codescaler: Suggest Inline" asks); record it; Tab; save;
//  3. Ctrl+Space; wait for the suggest widget; record its rows (label, detail);
//  4. with CODESCALER_E2E_TOGGLE=1: "codescaler: Toggle Suggestions", then typing must bring no ghost text.
// Results go to $CODESCALER_E2E_OUT/result.json; progress lines to stdout.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    throw new Error(`${name} is not set`);
  }
  return value;
};
const url = env("CODESCALER_E2E_URL");
const file = env("CODESCALER_E2E_FILE");
const line = Number(env("CODESCALER_E2E_LINE", "1"));
const out = env("CODESCALER_E2E_OUT");
const typed = env("CODESCALER_E2E_TYPE", " see");
const chromiumPath = env("CODESCALER_E2E_CHROMIUM", "/usr/bin/chromium");
const readyTimeout = Number(env("CODESCALER_E2E_READY_S", "120")) * 1000;
const stepTimeout = Number(env("CODESCALER_E2E_STEP_S", "30")) * 1000;
const token = process.env.CODESCALER_E2E_TOKEN ?? "";
const checkToggle = process.env.CODESCALER_E2E_TOGGLE === "1";
const manual = process.env.CODESCALER_E2E_MANUAL === "1";

fs.mkdirSync(out, { recursive: true });
// typed: every character typed at the end of the line; typedBeforeAccept: those typed before Tab.
const result = { typed: "", typedBeforeAccept: "", ghost: null, suggest: [], status: [], events: [] };
const started = Date.now();
const log = (event, data = {}) => {
  const entry = { event, t: (Date.now() - started) / 1000, ...data };
  result.events.push(entry);
  console.log(JSON.stringify(entry));
};
const save = () => fs.writeFileSync(path.join(out, "result.json"), JSON.stringify(result, null, 2));

const STATUS = '#workbench\\.parts\\.statusbar [aria-label^="codescaler "]';
const EDITOR = ".editor-instance .monaco-editor";
const SUGGEST = ".editor-widget.suggest-widget.visible";

/** The ghost text in the editor (inline part on the cursor line, then any extra lines). */
async function ghostText(page) {
  return page.evaluate((editorSelector) => {
    const editor = document.querySelector(editorSelector);
    if (!editor) {
      return "";
    }
    const inline = [...editor.querySelectorAll(".ghost-text-decoration")].map((e) => e.textContent ?? "");
    const lines = [...editor.querySelectorAll(".ghost-text .view-line, .ghost-text-view .view-line")].map(
      (e) => e.textContent ?? "",
    );
    return [inline.join(""), ...lines].join("\n").replace(/\u00a0/g, " ");
  }, EDITOR);
}

async function statusLabel(page) {
  return (await page.locator(STATUS).first().getAttribute("aria-label", { timeout: 1000 }).catch(() => null)) ?? "";
}

async function openFile(page) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: stepTimeout });
  await input.fill(file);
  await page.locator(".quick-input-widget .monaco-list-row").first().waitFor({ timeout: stepTimeout });
  await page.keyboard.press("Enter");
  await page.locator(`.tab[aria-label^="${file}"]`).first().waitFor({ timeout: stepTimeout });
  await page.locator(`${EDITOR} .view-lines`).first().waitFor({ timeout: stepTimeout });
  log("opened", { file });
}

async function goToLineEnd(page) {
  await page.locator(`${EDITOR} .view-lines`).first().click();
  await page.keyboard.press("Control+Home");
  for (let i = 1; i < line; i++) {
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("End");
}

/** Runs a command from the command palette by its title. */
async function runCommand(page, title) {
  await page.keyboard.press("Control+Shift+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: stepTimeout });
  await input.fill(`>${title}`);
  await page.locator(`.quick-input-widget .monaco-list-row[aria-label*="${title}"]`).first().waitFor({ timeout: stepTimeout });
  await page.keyboard.press("Enter");
}

async function setToken(page) {
  await runCommand(page, "codescaler: Set Engine Token");
  const input = page.locator('.quick-input-widget input[type="password"]');
  await input.waitFor({ state: "visible", timeout: stepTimeout });
  await input.fill(token);
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden", timeout: stepTimeout });
  log("token set");
}

/** Waits for a status bar label starting with one of `wanted`; fails on one starting with `failOn`. */
async function waitStatus(page, wanted, failOn = []) {
  const deadline = Date.now() + readyTimeout;
  let last = "";
  while (Date.now() < deadline) {
    const label = await statusLabel(page);
    if (label !== last) {
      last = label;
      result.status.push(label);
      log("status", { label });
    }
    if (wanted.some((prefix) => label.startsWith(prefix))) {
      return label;
    }
    if (failOn.some((prefix) => label.startsWith(prefix))) {
      throw new Error(`the extension reports: ${label}`);
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`the status bar never said ${JSON.stringify(wanted)} (last: ${JSON.stringify(last)})`);
}

/** Types, then waits for ghost text; types one more character (a fresh request) if none comes. */
async function typeUntilGhost(page) {
  const more = ["x", "y", "z"];
  let text = typed;
  for (let attempt = 0; attempt <= more.length; attempt++) {
    await page.keyboard.type(text, { delay: 40 });
    result.typed += text;
    if (manual) {
      // codescaler.triggerMode manual: typing alone must bring nothing; the command asks.
      await page.waitForTimeout(2000);
      const early = await ghostText(page);
      if (early.trim()) {
        throw new Error(`ghost text without being asked, in manual trigger mode: ${JSON.stringify(early)}`);
      }
      await runCommand(page, "codescaler: Suggest Inline");
      result.invoked = (result.invoked ?? 0) + 1;
    }
    const deadline = Date.now() + stepTimeout;
    while (Date.now() < deadline) {
      const ghost = await ghostText(page);
      if (ghost.trim()) {
        // Settled: the same text half a second later (a newer answer could still replace it).
        await page.waitForTimeout(500);
        if ((await ghostText(page)) === ghost) {
          return ghost;
        }
        continue;
      }
      await page.waitForTimeout(100);
    }
    log("no ghost text yet", { typed: result.typed });
    text = more[attempt];
  }
  throw new Error(`no inline ghost text after typing ${JSON.stringify(result.typed)}`);
}

async function suggestRows(page) {
  return page.evaluate((selector) => {
    const widget = document.querySelector(selector);
    if (!widget) {
      return [];
    }
    return [...widget.querySelectorAll(".monaco-list-row")].map((row) => ({
      label: (row.querySelector(".label-name")?.textContent ?? "").replace(/\u00a0/g, " "),
      detail: (row.querySelector(".details-label")?.textContent ?? "").replace(/\u00a0/g, " "),
      aria: row.getAttribute("aria-label") ?? "",
      focused: row.classList.contains("focused"),
      index: Number(row.getAttribute("data-index")),
    }));
  }, SUGGEST);
}

/** Ctrl+Space until the suggest widget lists items (retrying with one more typed character). */
async function openSuggest(page) {
  for (const extra of ["", "a", "b", "c"]) {
    if (extra) {
      await page.keyboard.type(extra, { delay: 40 });
      result.typed += extra;
    }
    await page.keyboard.press("Control+Space");
    const deadline = Date.now() + stepTimeout;
    while (Date.now() < deadline) {
      const rows = await suggestRows(page);
      if (rows.length > 0 && rows.every((row) => row.label)) {
        // Focus each row once: VS Code fills in the detail of the focused row.
        const seen = new Map();
        for (let i = 0; i < Math.min(rows.length, 10); i++) {
          for (const row of await suggestRows(page)) {
            if (!seen.has(row.index) || row.focused) {
              seen.set(row.index, row);
            }
          }
          await page.keyboard.press("ArrowDown");
          await page.waitForTimeout(100);
        }
        return [...seen.values()].sort((a, b) => a.index - b.index);
      }
      const empty = await page.locator(`${SUGGEST} .message`).first().textContent({ timeout: 200 }).catch(() => "");
      if (empty && /No suggestions/i.test(empty)) {
        break;
      }
      await page.waitForTimeout(100);
    }
    log("no suggest items yet", { typed: result.typed });
    await page.keyboard.press("Escape");
  }
  throw new Error(`the suggest widget listed nothing after typing ${JSON.stringify(result.typed)}`);
}

/** Suggestions switched off: the status bar says so, and typing brings no ghost text. */
async function toggledOff(page) {
  await runCommand(page, "codescaler: Toggle Suggestions");
  result.toggledLabel = await waitStatus(page, ["codescaler off"]);
  await page.keyboard.press("Escape"); // hide ghost text still shown from before
  await page.keyboard.press("End");
  await page.keyboard.type(" more", { delay: 40 });
  await page.waitForTimeout(3000);
  result.ghostWhenOff = await ghostText(page);
  log("toggled off", { label: result.toggledLabel, ghost: result.ghostWhenOff });
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "codescaler-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(stepTimeout);
  page.on("pageerror", (error) => log("page error", { message: String(error).slice(0, 500) }));
  try {
    await page.goto(url);
    await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
    await page.locator(STATUS).first().waitFor({ timeout: 60_000 });
    log("workbench");
    await openFile(page);
    if (token) {
      // Without the token the engine refuses the server: the status bar must say so. Then the token,
      // and a restarted server that gets in.
      await waitStatus(page, ["codescaler error"]);
      await setToken(page);
      await waitStatus(page, ["codescaler starting", "codescaler loading"]);
    }
    await waitStatus(page, ["codescaler ready"], ["codescaler error", "codescaler stopped"]);
    await goToLineEnd(page);
    const ghost = await typeUntilGhost(page);
    result.ghost = ghost;
    result.typedBeforeAccept = result.typed;
    log("ghost text", { ghost });
    await page.screenshot({ path: path.join(out, "ghost-text.png") });
    await page.keyboard.press("Tab");
    await page.waitForFunction(
      (selector) => !document.querySelector(`${selector} .ghost-text-decoration`),
      EDITOR,
      { timeout: stepTimeout },
    );
    await page.keyboard.press("Control+S");
    await page.locator(".tab.dirty").first().waitFor({ state: "detached", timeout: stepTimeout });
    log("accepted and saved");
    result.suggest = await openSuggest(page);
    log("suggest", { rows: result.suggest });
    await page.screenshot({ path: path.join(out, "suggest.png") });
    await page.keyboard.press("Escape");
    if (checkToggle) {
      await toggledOff(page);
    }
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = String(error?.stack ?? error);
    log("failed", { error: String(error).slice(0, 2000) });
    await page.screenshot({ path: path.join(out, "failure.png") }).catch(() => undefined);
  } finally {
    save();
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(result.ok ? 0 : 1);
}

await main();
