/**
 * Small Playwright helpers for driving the code-server workbench (VS Code 1.139) in headless
 * Chromium. Selectors were checked against that version (see docs/testing-in-vscode.md);
 * they are VS Code internals, so keep every one of them here and nowhere else.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from "playwright-core";

/**
 * Headless Chromium flags: no sandbox (containers/root), no GPU, and no background traffic to
 * Google services, which would only fail and slow things down offline.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. Playwright's own download is not used. */
export function chromiumExecutable(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const candidate of candidates) if (candidate && fs.existsSync(candidate)) return candidate;
  throw new Error(
    "vscode-host: no Chromium found. Install it with `sudo apt-get install -y chromium` or set CHROMIUM_PATH " +
      "(e.g. to the binary of the npm package @sparticuz/chromium).",
  );
}

/**
 * `handleSignals: false` when the caller cleans up on SIGINT/SIGTERM itself: Playwright's own
 * handlers (on by default) kill the browser and then call process.exit(130), cutting that
 * cleanup short (code-server's temp profile was left behind).
 */
export function launchBrowser(options: { handleSignals?: boolean } = {}): Promise<Browser> {
  const handle = options.handleSignals ?? true;
  return chromium.launch({
    executablePath: chromiumExecutable(),
    headless: true,
    args: [...CHROMIUM_ARGS],
    handleSIGINT: handle,
    handleSIGTERM: handle,
    handleSIGHUP: handle,
  });
}

const ownedBrowsers = new WeakMap<Page, Browser>();

export interface OpenWorkbenchOptions {
  /** Reuse a browser; by default one is launched and closed by `closeWorkbench(page)`. */
  browser?: Browser;
  /** Runs after the page exists and before navigation (e.g. `page.exposeFunction`). */
  beforeNavigate?: (page: Page) => Promise<void>;
  /** Default 1400×900: wide enough that status-bar items are not hidden for lack of room. */
  viewport?: { width: number; height: number };
  /** Wait for `.monaco-workbench` (default true; ~4 s). */
  waitForWorkbench?: boolean;
  timeoutMs?: number;
}

/** Opens the workbench URL (see `workbenchUrl`) in a fresh page and waits until it is drawn. */
export async function openWorkbench(url: string, options: OpenWorkbenchOptions = {}): Promise<Page> {
  const browser = options.browser ?? (await launchBrowser());
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    if (!options.browser) ownedBrowsers.set(page, browser);
    await options.beforeNavigate?.(page);
    await page.goto(url, { timeout: options.timeoutMs ?? 60_000 });
    if (options.waitForWorkbench ?? true) {
      await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: options.timeoutMs ?? 60_000 });
    }
    return page;
  } catch (error) {
    if (!options.browser) await browser.close().catch(() => undefined);
    throw error;
  }
}

/** Closes the page, and the browser if `openWorkbench` launched it. */
export async function closeWorkbench(page: Page): Promise<void> {
  const browser = ownedBrowsers.get(page);
  await page
    .context()
    .close()
    .catch(() => undefined);
  if (browser) await browser.close().catch(() => undefined);
}

/**
 * Runs a command by its palette title (e.g. "Juggler: Sign In"): F1, type, pick, Enter. The palette
 * closes when something takes the focus just as it opens (seen once after a tree's context menu, in
 * a full CI run): it is then opened again, up to three times, before the step fails.
 */
export async function runCommand(page: Page, title: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeout = options.timeoutMs ?? 15_000;
  const input = page.locator(".quick-input-widget input");
  // The list filters asynchronously: pressing Enter before the row shows can pick a stale one.
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
  for (let attempt = 1; ; attempt += 1) {
    const isLast = attempt === 3;
    try {
      await page.locator(".monaco-workbench").focus();
      await page.keyboard.press("F1");
      await input.waitFor({ state: "visible", timeout });
      await input.fill(`>${title}`, { timeout: isLast ? timeout : 5_000 });
      await row.waitFor({ state: "visible", timeout });
      break;
    } catch (error) {
      if (isLast) throw error;
      await page.keyboard.press("Escape");
    }
  }
  await page.keyboard.press("Enter");
}

/**
 * A webview's content: VS Code nests it in two iframes, the outer `iframe.webview` (gets
 * `.ready` once its service worker is up) and `#active-frame` with the extension's HTML.
 */
export function webviewFrame(page: Page, index = 0): FrameLocator {
  return page.locator("iframe.webview.ready").nth(index).contentFrame().locator("#active-frame").contentFrame();
}

/** A status-bar entry by (part of) its visible text; codicons like `$(beaker)` render as icons, not text. */
export function statusBarItem(page: Page, text: string | RegExp): Locator {
  return page.locator(".statusbar-item", { hasText: text });
}

/** Clicks the activity-bar icon of a view container by its title (aria-label starts with it). */
export async function openViewContainer(page: Page, title: string): Promise<void> {
  await page
    .locator(`.activitybar .action-label[aria-label^="${cssString(title)}"]`)
    .first()
    .click();
}

/**
 * Label elements of the rows of the tree views in the side bar, optionally only in the view
 * whose header shows `viewName`. Rows render lazily and asynchronously: poll
 * (`expect`-style loops or `locator.waitFor`), do not read once.
 */
export function treeRows(page: Page, viewName?: string): Locator {
  const panes = viewName ? page.locator(".pane", { has: page.locator(".pane-header", { hasText: viewName }) }) : page.locator(".pane");
  return panes.locator(".pane-body .monaco-list-row .label-name");
}

/** Waits for a notification toast containing `text` and returns it. */
export async function waitForNotification(page: Page, text: string | RegExp, options: { timeoutMs?: number } = {}): Promise<Locator> {
  const toast = page.locator(".notifications-toasts .notification-list-item", { hasText: text }).first();
  await toast.waitFor({ state: "visible", timeout: options.timeoutMs ?? 15_000 });
  return toast;
}

/**
 * Clears every notification (toasts and the notification center), so that a toast the next
 * step waits for is not kept hidden behind earlier ones: VS Code shows at most three toasts
 * and only as many as fit the window's height.
 */
export async function clearNotifications(page: Page, options: { timeoutMs?: number } = {}): Promise<void> {
  await runCommand(page, "Notifications: Clear All Notifications", options);
  await page
    .locator(".notifications-toasts .notification-list-item")
    .first()
    .waitFor({ state: "detached", timeout: options.timeoutMs ?? 15_000 });
}

/** Full-page screenshot into `file` (folders created), e.g. under test-results/. */
export async function screenshot(page: Page, file: string): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function cssString(value: string): string {
  return value.replace(/["\\]/g, "\\$&");
}
