/**
 * Playwright steps for the Juggler journey in code-server's workbench (VS Code 1.139): quick input,
 * dialogs, context menus, and the Juggler webviews. The generic ones complement
 * tools/vscode-host/workbench-driver.ts; VS Code's DOM classes used here were checked against 1.139.
 * Every wait polls (locator.waitFor / expect-style loops); nothing sleeps a fixed time.
 */
import type { FrameLocator, Locator, Page } from "playwright-core";
import { openViewContainer, runCommand, statusBarItem } from "./workbench-driver";

const STEP_TIMEOUT_MS = 30_000;

/**
 * Waits for an input box or quick pick showing `text` (its title, prompt or a row), so that
 * consecutive input boxes of one flow are told apart, then returns the widget.
 */
export async function waitForQuickInput(page: Page, text: string | RegExp, timeoutMs = STEP_TIMEOUT_MS): Promise<Locator> {
  const widget = page.locator(".quick-input-widget", { hasText: text });
  await widget.waitFor({ state: "visible", timeout: timeoutMs });
  return widget;
}

/** Types `value` into the visible quick input (replacing what is there) and presses Enter. */
export async function answerInputBox(page: Page, prompt: string | RegExp, value: string): Promise<void> {
  const widget = await waitForQuickInput(page, prompt);
  const input = widget.locator("input.input, .quick-input-box input").first();
  try {
    await input.fill(value, { timeout: 10_000 });
    await input.press("Enter");
  } catch {
    // Seen under load: the input box stayed `inert` (Playwright then refuses to fill it) although
    // it had the focus. Typing goes to the focused input as a person's keys would.
    await page.keyboard.insertText(value);
    if ((await input.inputValue()) !== value) throw new Error(`The input box "${String(prompt)}" did not take the text`);
    await page.keyboard.press("Enter");
  }
  // The next step of a multi-step flow may reuse the widget: wait until this prompt is gone.
  await page.locator(".quick-input-widget", { hasText: prompt }).waitFor({ state: "hidden", timeout: STEP_TIMEOUT_MS });
}

/** Picks the row of the visible quick pick whose label contains `label` (clicking it). */
export async function pickQuickPickRow(page: Page, label: string | RegExp): Promise<void> {
  const row = page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: label }).first();
  await row.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  await row.click();
}

/** A button of a (modal) dialog, e.g. "Delete" or "Allow". */
export function dialogButton(page: Page, label: string): Locator {
  return page
    .locator(".monaco-dialog-box .dialog-buttons a.monaco-button, .monaco-dialog-box .dialog-buttons .monaco-button", { hasText: label })
    .first();
}

/**
 * Right-clicks the middle of `target` where a person would (whatever is on top there gets the
 * click: an editor's selection highlight lies under its text) and chooses `item` from VS Code's
 * context menu.
 */
export async function chooseFromContextMenu(page: Page, target: Locator, item: string): Promise<void> {
  await target.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  // A tree re-renders rows as groups expand or items move: right-click only once the row has
  // stopped moving, or the click lands on its neighbour (whose menu may have the same entry).
  const box = await settledBox(target);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: "right" });
  const entry = page.locator(".monaco-menu .action-item:not(.disabled) .action-label", { hasText: item }).first();
  await entry.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  // A click on a menu that has just opened was sometimes lost (seen with the tree's context menu):
  // hover first, and click again while the menu is still open.
  for (let attempt = 0; attempt < 5 && (await entry.isVisible()); attempt++) {
    await entry.hover();
    await entry.click({ timeout: 5_000 }).catch(() => undefined);
    await entry.waitFor({ state: "hidden", timeout: 1_000 }).catch(() => undefined);
  }
  if (await entry.isVisible()) throw new Error(`The context menu entry "${item}" did not react to clicks`);
}

/**
 * A context-menu entry whose effect can be checked, chosen again if the effect does not come: the
 * tree's menu is sometimes closed before its entry runs (a hover or a re-render of the rows takes
 * it away), and the click is then lost without a trace. Only for entries that are safe to repeat
 * (pin, archive, move): a lost click and a repeated one end the same way.
 */
export async function chooseFromContextMenuUntil(
  page: Page,
  target: Locator,
  item: string,
  effect: { description: string; isDone: () => Promise<boolean> },
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    await chooseFromContextMenu(page, target, item);
    try {
      await waitUntil(effect.description, effect.isDone, 10_000);
      return;
    } catch (error) {
      if (attempt === 3) throw error;
      // whatever was left open (a hover, the menu) goes before the next try
      await page.keyboard.press("Escape");
      await page.mouse.move(0, 0);
    }
  }
}

/** The element's box once two readings 150 ms apart agree. */
async function settledBox(target: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let previous = await target.boundingBox();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const current = await target.boundingBox();
    if (current && previous && current.x === previous.x && current.y === previous.y && current.width === previous.width) return current;
    if (Date.now() > deadline) throw new Error(`Cannot right-click ${target}: it has no steady box`);
    previous = current;
  }
}

/**
 * The content frame of the webview whose page contains `rootSelector` (the chat has `.chat-app`,
 * Team Settings `.team-settings-app`). Several webviews can be open; VS Code gives no stable name
 * to their iframes, so each is probed.
 */
export async function findWebview(
  page: Page,
  rootSelector: string,
  options: { timeoutMs?: number; isInEditorArea?: boolean } = {},
): Promise<FrameLocator> {
  const timeoutMs = options.timeoutMs ?? STEP_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frames = page.locator("iframe.webview.ready");
    const count = await frames.count();
    for (let index = 0; index < count; index++) {
      const frame = frames.nth(index).contentFrame().locator("#active-frame").contentFrame();
      if (
        (await frame
          .locator(rootSelector)
          .count()
          .catch(() => 0)) === 0
      )
        continue;
      if (options.isInEditorArea !== undefined && (await isOverEditorArea(page, frames.nth(index))) !== options.isInEditorArea) continue;
      return frame;
    }
    if (Date.now() > deadline) throw new Error(`No webview with ${rootSelector} appeared within ${timeoutMs} ms (${count} webviews open)`);
    await page.waitForTimeout(200);
  }
}

/**
 * Webview iframes live in an overlay above the workbench, not inside the part that shows them: tell
 * the editor area's from the side bar's by where they are drawn.
 */
async function isOverEditorArea(page: Page, iframe: Locator): Promise<boolean> {
  const [frameBox, editorBox] = await Promise.all([iframe.boundingBox(), page.locator(".part.editor").first().boundingBox()]);
  if (!frameBox || !editorBox) return false;
  return frameBox.x >= editorBox.x - 1 && frameBox.x < editorBox.x + editorBox.width;
}

/** The chat webview's pieces (webview/src/chat). */
export function chatParts(chat: FrameLocator) {
  return {
    composer: chat.locator("vscode-textarea.composer__input textarea"),
    stopButton: chat.locator("vscode-button.composer__stop"),
    title: chat.locator(".chat-header__title"),
    modelButton: chat.locator(".chat-header__model"),
    messages: chat.locator("article.message"),
    userMessages: chat.locator("article.message--user"),
    answers: chat.locator("article.message--assistant"),
    completeAnswers: chat.locator("article.message--assistant.message--complete"),
    streamingAnswers: chat.locator("article.message--assistant.message--streaming"),
  };
}

/** Types a message into the chat composer and sends it with Enter. */
export async function sendChatMessage(chat: FrameLocator, text: string): Promise<void> {
  const { composer } = chatParts(chat);
  await composer.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  await composer.click();
  await composer.fill(text);
  await composer.press("Enter");
  // The composer clears once the host accepted the message.
  await waitUntil(`the composer to clear after sending`, async () => (await composer.inputValue()) === "");
}

/** Polls `check` until it returns true. */
export async function waitUntil(description: string, check: () => Promise<boolean>, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Drags the side bar's edge so it is `widthPx` wide (a roomier chat for the screenshots). */
export async function resizeSideBar(page: Page, widthPx: number): Promise<void> {
  const sideBar = page.locator(".part.sidebar").first();
  const box = await sideBar.boundingBox();
  if (!box) throw new Error("The side bar is not shown");
  const edgeX = box.x + box.width + 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(edgeX, y);
  await page.mouse.down();
  await page.mouse.move(box.x + widthPx, y, { steps: 8 });
  await page.mouse.up();
  await waitUntil("the side bar to resize", async () => Math.abs(((await sideBar.boundingBox())?.width ?? 0) - widthPx) < 24);
}

/**
 * Drags the sash between the first two views of the side bar (Juggler's Chat above Conversations)
 * so that the first one is about `heightPx` tall.
 */
export async function resizeFirstSideBarView(page: Page, heightPx: number): Promise<void> {
  const panes = page.locator(".part.sidebar .pane");
  const firstPane = panes.first();
  const box = await firstPane.boundingBox();
  if (!box) throw new Error("The side bar shows no view");
  const sash = page.locator(".part.sidebar .monaco-sash.horizontal:not(.disabled)").first();
  const sashBox = await sash.boundingBox();
  if (!sashBox) throw new Error("The side bar's views have no sash between them");
  const x = sashBox.x + sashBox.width / 2;
  await page.mouse.move(x, sashBox.y + sashBox.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, box.y + heightPx, { steps: 8 });
  await page.mouse.up();
  await waitUntil("the view to resize", async () => Math.abs(((await firstPane.boundingBox())?.height ?? 0) - heightPx) < 40);
}

/** Waits until `element` and its descendants run no CSS animation or transition (e.g. the quick input fading in). */
export async function waitForAnimations(element: Locator): Promise<void> {
  await element.evaluate((node) =>
    Promise.all(node.getAnimations({ subtree: true }).map((animation) => animation.finished.catch(() => undefined))),
  );
}

/**
 * Signs in as an existing account the way a person does: "Juggler: Sign In", VS Code's Allow dialog
 * when it asks, the server's address, "Sign in", name and password; then opens the Juggler view
 * with a side bar `sideBarWidthPx` wide.
 */
export async function signInWithCommand(
  page: Page,
  account: { serverUrl: string; name: string; password: string },
  sideBarWidthPx: number,
): Promise<void> {
  await runCommand(page, "View: Hide Secondary Side Bar");
  await statusBarItem(page, "Juggler: Sign In").waitFor({ state: "visible", timeout: 60_000 });
  await runCommand(page, "Juggler: Sign In");
  const serverPrompt = "address of your team's Juggler server";
  const allow = dialogButton(page, "Allow");
  await Promise.race([
    allow.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS }).catch(() => undefined),
    waitForQuickInput(page, serverPrompt).catch(() => undefined),
  ]);
  if (await allow.isVisible()) await allow.click();
  await answerInputBox(page, serverPrompt, account.serverUrl);
  await pickQuickPickRow(page, "Sign in");
  await answerInputBox(page, "Your name on the team server", account.name);
  await answerInputBox(page, "Password", account.password);
  await statusBarItem(page, "Juggler: Sign In").waitFor({ state: "hidden", timeout: STEP_TIMEOUT_MS });
  await openViewContainer(page, "Juggler");
  await resizeSideBar(page, sideBarWidthPx);
}
