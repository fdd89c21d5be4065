import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import type { Message } from "../../protocol/http/conversations";
import type { WebviewToHostEnvelope } from "../../protocol/webview/chat-protocol";
import { renderChatHtml, renderTeamSettingsHtml, renderUsageHtml } from "../../extension/src/surfaces/webview-html";
import { buildWebviewBundles } from "./build-webview-bundles";
import { HarnessServer } from "./harness-server";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export interface OpenViewOptions {
  view: "chat" | "team-settings" | "usage";
  /** What the stub's getState() returns at start (what VS Code kept from the last time). */
  savedState?: unknown;
  width?: number;
  height?: number;
}

/** What the stub records in the page (window.__harness). */
interface HarnessRecord {
  posted: WebviewToHostEnvelope[];
  stateWrites: unknown[];
  state: unknown;
  cspViolations: Array<{ directive: string; blockedURI: string; sample: string }>;
  apiAcquisitions: number;
  /** Called with each message the view posts, after it is recorded (a host played inside the page). */
  postListeners: Array<(message: WebviewToHostEnvelope) => void>;
}

declare global {
  interface Window {
    __harness: HarnessRecord;
  }
}

/**
 * The stub host bridge: defines window.acquireVsCodeApi before the bundle loads, like VS Code does.
 * postMessage records (a JSON copy, as VS Code's structured clone would); getState/setState keep
 * the state; a second acquireVsCodeApi() throws, as in VS Code. CSP violations are recorded too.
 */
function stubHostScript(savedState: unknown): string {
  // JSON inside a <script>: escape "<" so the data cannot close the element.
  const initialState = JSON.stringify(savedState ?? null).replaceAll("<", "\\u003c");
  return `(() => {
  const harness = { posted: [], stateWrites: [], state: ${initialState}, cspViolations: [], apiAcquisitions: 0, postListeners: [] };
  window.__harness = harness;
  document.addEventListener("securitypolicyviolation", (event) => {
    harness.cspViolations.push({ directive: event.effectiveDirective, blockedURI: event.blockedURI, sample: event.sample });
  });
  window.acquireVsCodeApi = () => {
    harness.apiAcquisitions += 1;
    if (harness.apiAcquisitions > 1) throw new Error("An instance of the VS Code API has already been acquired");
    return Object.freeze({
      postMessage: (message) => {
        const copy = JSON.parse(JSON.stringify(message));
        harness.posted.push(copy);
        for (const listener of harness.postListeners) listener(copy);
      },
      getState: () => harness.state,
      setState: (state) => { harness.state = state; harness.stateWrites.push(JSON.parse(JSON.stringify(state))); },
    });
  };
})();`;
}

/**
 * Builds the harness page: the real HTML the extension serves (renderChatHtml /
 * renderTeamSettingsHtml, with its strict CSP) plus the theme variables and the stub host.
 */
export function buildHarnessPage(origin: string, options: OpenViewOptions): string {
  const nonce = randomBytes(18).toString("base64");
  const isChat = options.view === "chat";
  const render = { chat: renderChatHtml, "team-settings": renderTeamSettingsHtml, usage: renderUsageHtml }[options.view];
  const html = render({
    cspSource: origin,
    nonce,
    scriptUri: `${origin}/bundle/${options.view}.js`,
    styleUri: `${origin}/bundle/${options.view}.css`,
    codiconUri: `${origin}/bundle/codicon.css`,
  });
  const theme = `<link rel="stylesheet" href="${origin}/theme/dark-modern-${isChat ? "sidebar" : "editor"}.css">`;
  const stub = `<script nonce="${nonce}">${stubHostScript(options.savedState)}</script>`;
  const withTheme = html.replace("</head>", `${theme}\n</head>`);
  const bundleScriptAt = withTheme.indexOf(`<script nonce="${nonce}" src=`);
  if (bundleScriptAt < 0) throw new Error("The page has no bundle script tag to put the stub before");
  return `${withTheme.slice(0, bundleScriptAt)}${stub}\n${withTheme.slice(bundleScriptAt)}`;
}

export class WebviewHarness {
  private constructor(
    private readonly browser: Browser,
    private readonly server: HarnessServer,
  ) {}

  static async start(): Promise<WebviewHarness> {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`The webview tests need Debian's Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
    }
    const bundles = await buildWebviewBundles();
    const server = await HarnessServer.start(bundles);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    return new WebviewHarness(browser, server);
  }

  async open(options: OpenViewOptions): Promise<HarnessPage> {
    const page = await this.browser.newPage({
      viewport: { width: options.width ?? 420, height: options.height ?? 720 },
      colorScheme: "dark",
    });
    const harnessPage = new HarnessPage(page);
    await page.goto(this.server.addPage(buildHarnessPage(this.server.origin, options)));
    await harnessPage.waitForCommand("webview/ready");
    return harnessPage;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.server.close();
  }
}

/** One opened view, seen from the test: what it posted, what it saved, and a way to play the host. */
export class HarnessPage {
  /** Uncaught exceptions and console errors of the page: a healthy view has none. */
  readonly errors: string[] = [];
  private readonly consumedRequests = new Map<string, number>();

  constructor(readonly page: Page) {
    page.on("pageerror", (error) => this.errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") this.errors.push(`console: ${message.text()}`);
    });
  }

  posted(): Promise<WebviewToHostEnvelope[]> {
    return this.page.evaluate(() => window.__harness.posted);
  }

  async commands(method: string): Promise<unknown[]> {
    return (await this.posted())
      .filter((message) => message.kind === "command" && message.method === method)
      .map((message) => message.params);
  }

  async requests(method: string): Promise<Array<{ id: number; params: unknown }>> {
    return (await this.posted()).flatMap((message) =>
      message.kind === "request" && message.method === method ? [{ id: message.id, params: message.params }] : [],
    );
  }

  /** Waits for the next request of that name not yet returned by this method. */
  async waitForRequest(method: string): Promise<{ id: number; params: unknown }> {
    const index = this.consumedRequests.get(method) ?? 0;
    await this.page.waitForFunction(
      ({ method, index }) =>
        window.__harness.posted.filter((message) => message.kind === "request" && message.method === method).length > index,
      { method, index },
    );
    this.consumedRequests.set(method, index + 1);
    return (await this.requests(method))[index]!;
  }

  /** Waits until at least `count` commands of that name were posted; returns the last one's params. */
  async waitForCommand(method: string, count = 1): Promise<unknown> {
    await this.page.waitForFunction(
      ({ method, count }) =>
        window.__harness.posted.filter((message) => message.kind === "command" && message.method === method).length >= count,
      { method, count },
    );
    return (await this.commands(method)).at(-1);
  }

  /** Delivers a message as the host would (a window "message" event). */
  async deliver(data: unknown): Promise<void> {
    await this.page.evaluate((data) => {
      window.dispatchEvent(new MessageEvent("message", { data }));
    }, data);
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.deliver({ kind: "notification", method, params });
  }

  respond(id: number, result: unknown): Promise<void> {
    return this.deliver({ kind: "response", id, ok: true, result });
  }

  respondError(id: number, error: { code: string; message: string; retryable?: boolean }): Promise<void> {
    return this.deliver({ kind: "response", id, ok: false, error });
  }

  /**
   * Plays the host's side of `messages/loadOlder` inside the page, from a whole branch (oldest first):
   * each request is answered, after `delayMs` (a round trip to the server), with the `pageSize`
   * messages just above its cursor. A cursor names the first message of the newer page
   * ("before:<id>", as `buildPagedSnapshot` makes them), so pages are stable and never overlap.
   * Returns at once; requests stay recorded in `posted()`.
   */
  async serveOlderPages(branch: readonly Message[], options: { pageSize: number; delayMs?: number }): Promise<void> {
    // Inline code only: the test runner's compiler would wrap named inner functions in a helper the page does not have.
    await this.page.evaluate(
      ({ branch, pageSize, delayMs }) => {
        const indexById = new Map(branch.map((message, index) => [message.id, index]));
        window.__harness.postListeners.push((message) => {
          if (message.kind !== "request" || message.method !== "messages/loadOlder") return;
          const cursor = String((message.params as { cursor?: unknown }).cursor ?? "");
          const end = cursor.startsWith("before:") ? indexById.get(cursor.slice("before:".length)) : undefined;
          const start = end === undefined ? 0 : Math.max(0, end - pageSize);
          const envelope =
            end === undefined
              ? { kind: "response", id: message.id, ok: false, error: { code: "validation_failed", message: "Unknown cursor" } }
              : {
                  kind: "response",
                  id: message.id,
                  ok: true,
                  result: { messages: branch.slice(start, end), olderCursor: start > 0 ? `before:${branch[start]!.id}` : null },
                };
          setTimeout(() => window.dispatchEvent(new MessageEvent("message", { data: envelope })), delayMs);
        });
      },
      { branch, pageSize: options.pageSize, delayMs: options.delayMs ?? 2 },
    );
  }

  savedState(): Promise<unknown> {
    return this.page.evaluate(() => window.__harness.state);
  }

  stateWrites(): Promise<unknown[]> {
    return this.page.evaluate(() => window.__harness.stateWrites);
  }

  cspViolations(): Promise<HarnessRecord["cspViolations"]> {
    return this.page.evaluate(() => window.__harness.cspViolations);
  }

  /** Lets pending animation frames (batched markdown renders) run. */
  async nextFrames(count = 2): Promise<void> {
    await this.page.evaluate(async (count) => {
      for (let index = 0; index < count; index++) await new Promise((resolve) => requestAnimationFrame(resolve));
    }, count);
  }

  close(): Promise<void> {
    return this.page.close();
  }
}

/**
 * Closes a test's page. A test that passed must also have left the page healthy: no uncaught
 * errors and nothing the Content Security Policy blocked.
 */
export async function closeCheckingHealth(view: HarnessPage, hasPassed: boolean): Promise<void> {
  const errors = [...view.errors];
  const violations = await view.cspViolations();
  await view.close();
  if (hasPassed) {
    assert.deepEqual(errors, [], "the page logged errors");
    assert.deepEqual(violations, [], "the page hit its Content Security Policy");
  }
}
