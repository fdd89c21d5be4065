/**
 * A new team's first run in a real VS Code (code-server 4.139 = VS Code 1.139), driven with
 * Playwright: the extension installed from its `.vsix`, a fresh team server (no account yet) behind
 * a proxy that can take it offline, the providers the local fakes. Steps (each an `it`, in order):
 * the Accounts menu offers sign-in before anyone signed in, and signs up from there without VS
 * Code's consent dialog; the first account is told it is the admin → the walkthrough, its first
 * step done → the admin adds a provider key and the well-known models are visible at once, the chat
 * and the status bar naming the same one → Ctrl+Alt+U focuses the chat input, Escape stops an
 * answer, Up brings the last message back → F2 renames and Delete deletes in the Conversations
 * tree → the status bar shows the server offline with Reconnect, and the model again once it is
 * back. After a failed step the remaining ones are skipped; a failure leaves
 * test-results/first-run-failure.png. Screenshots (the walkthrough, the offline status bar) go to
 * test-results/screenshots/, or to docs/screenshots/ with `npm run screenshots`.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Locator, Page } from "playwright-core";
import type { FakeProviders } from "../../tools/fake-providers";
import { FAKE_API_KEYS } from "../../tools/harness/provider-setup";
import { startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";
import type { CodeServer } from "../../tools/vscode-host/code-server-process";
import {
  answerInputBox,
  chatParts,
  dialogButton,
  findWebview,
  pickQuickPickRow,
  waitForQuickInput,
  waitUntil,
} from "../../tools/vscode-host/juggler-workbench";
import { followJourney } from "../../tools/vscode-host/journey-lifecycle";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import {
  openViewContainer,
  runCommand,
  screenshot,
  statusBarItem,
  treeRows,
  waitForNotification,
} from "../../tools/vscode-host/workbench-driver";
import { startSwitchableProxy } from "../extension/extension-test-environment";
import { screenshotPath } from "../support/screenshot-path";
import { prepareJourneyMachine } from "./support/journey-machine";

const FAILURE_SCREENSHOT = path.join(REPO_ROOT, "test-results", "first-run-failure.png");
const ADMIN_NAME = "ada";
const PASSWORD = "a long enough password";
/** The fake Anthropic's newest Haiku: first of the well-known models in the picker's order (provider, then name). */
const FIRST_MODEL_LABEL = "Claude Haiku 5.5";
const SERVER_PROMPT = "address of your team's Juggler server";

describe("vscode: a new team's first run in code-server", function () {
  // Warm: about a minute. A first run also provisions code-server (≈ 2 min more, in the before hook).
  this.timeout(6 * 60_000);

  let team: TeamEnvironment | undefined;
  let proxy: Awaited<ReturnType<typeof startSwitchableProxy>> | undefined;
  let codeServer: CodeServer | undefined;
  let page: Page | undefined;
  let tempDir: string;
  const question = "What does a debounce do?";

  before(async function () {
    this.timeout(10 * 60_000);
    const machine = await prepareJourneyMachine("juggler-first-run-");
    tempDir = machine.tempDir;
    team = await startTeamEnvironment({ withAdmin: false });
    // The extension reaches the server through a proxy the test can switch off (the server "goes down").
    proxy = await startSwitchableProxy(team.server.url);
    codeServer = await machine.startCodeServer(proxy.url);
    page = await machine.openWorkbench(codeServer);
  });

  followJourney(FAILURE_SCREENSHOT, () => ({
    page,
    codeServer,
    team: {
      dispose: async () => {
        await proxy?.close();
        await team?.dispose();
      },
    },
    tempDir,
  }));

  it("opens the getting-started walkthrough from the command palette", async () => {
    const workbench = page!;
    await runCommand(workbench, "View: Hide Secondary Side Bar");
    // Juggler is up (its status bar item) before its commands are used.
    await statusBarItem(workbench, "Juggler: Sign In").waitFor({ state: "visible", timeout: 60_000 });
    await runCommand(workbench, "Juggler: Get Started");
    await walkthroughStep(workbench, "connect").waitFor({ state: "visible", timeout: 30_000 });
    for (const title of ["Add a provider key (admins)", "Choose models", "Have your first chat", "Send a selection"]) {
      assert.equal(await workbench.locator(".getting-started-step", { hasText: title }).count(), 1, title);
    }
    assert.equal(await walkthroughStep(workbench, "connect").getAttribute("aria-checked"), "false");
  });

  it("offers sign-in in the Accounts menu before anyone signed in, and signs up from it without a consent dialog", async () => {
    const workbench = page!;
    await statusBarItem(workbench, "Juggler: Sign In").waitFor({ state: "visible", timeout: 60_000 });
    // VS Code marks the Accounts menu (a badge) and lists the request there.
    const accounts = workbench.locator('.activitybar .action-label[aria-label^="Accounts"]').first();
    await workbench.locator('.activitybar .badge[aria-label*="Sign in requested"]').waitFor({ state: "visible", timeout: 30_000 });
    const entry = workbench.locator(".monaco-menu .action-label", { hasText: "Sign in with Juggler to use Juggler" }).first();
    const prompt = workbench.locator(".quick-input-widget", { hasText: SERVER_PROMPT });
    // A click on a menu that has just opened is sometimes lost (as with the tree's context menu in the
    // journey): open it again and hover before clicking, until the prompt shows.
    for (let attempt = 0; attempt < 5 && !(await prompt.isVisible()); attempt++) {
      if (!(await entry.isVisible())) await accounts.click({ force: true });
      await entry.waitFor({ state: "visible", timeout: 15_000 });
      // the menu may be drawn again while it opens (a second sign-in request joins the first): try again
      await entry.hover({ timeout: 5_000 }).catch(() => undefined);
      await entry.click({ timeout: 5_000 }).catch(() => undefined);
      await prompt.waitFor({ state: "visible", timeout: 5_000 }).catch(() => undefined);
    }
    // Straight to Juggler's own prompts: no "The extension 'Juggler' wants to sign in using Juggler".
    const serverInput = (await waitForQuickInput(workbench, SERVER_PROMPT)).locator("input").first();
    assert.equal(await dialogButton(workbench, "Allow").isVisible(), false, "no consent dialog");
    assert.equal(await serverInput.inputValue(), proxy!.url, "the address comes from juggler.serverUrl");
    await answerInputBox(workbench, SERVER_PROMPT, proxy!.url);
    await pickQuickPickRow(workbench, "Create account");
    await answerInputBox(workbench, "Your name on the team server", ADMIN_NAME);
    await answerInputBox(workbench, "Choose a password", PASSWORD);

    // The first account hears it is the admin, and what to do next.
    await waitForNotification(workbench, "is the admin of this team server", { timeoutMs: 30_000 });
    // No provider yet: the admin's status bar leads to Team Settings.
    const noModel = statusBarItem(workbench, "No model");
    await noModel.waitFor({ state: "visible", timeout: 30_000 });
    assert.match((await noModel.getAttribute("aria-label")) ?? "", /Open Team Settings/);
    // The request is answered: the Accounts menu now lists the account instead.
    await accounts.click();
    await workbench.locator(".monaco-menu .action-label", { hasText: ADMIN_NAME }).first().waitFor({ state: "visible", timeout: 15_000 });
    assert.equal(await workbench.locator(".monaco-menu .action-label", { hasText: "Sign in with Juggler" }).count(), 0);
    await workbench.keyboard.press("Escape");
    // The walkthrough's first step is done.
    await waitUntil(
      "the walkthrough's first step to be done",
      async () => (await walkthroughStep(workbench, "connect").getAttribute("aria-checked")) === "true",
    );
    assert.equal(await walkthroughStep(workbench, "chooseModels").getAttribute("aria-checked"), "false");
    await screenshot(workbench, screenshotPath("walkthrough.png"));
    await runCommand(workbench, "View: Close All Editors");
  });

  it("shows the well-known models as soon as the admin adds a provider key, with nothing ticked; chat and status bar agree", async () => {
    const workbench = page!;
    await openViewContainer(workbench, "Juggler");
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await waitUntil(
      "the header to say there is no model",
      async () => ((await parts.modelButton.textContent()) ?? "").trim() === "No model",
    );
    // The empty chat leads the admin to Team Settings.
    await chat.locator(".empty-state__action", { hasText: "Open Team Settings" }).click();
    const settings = await findWebview(workbench, ".team-settings-app", { isInEditorArea: true });
    const card = settings.locator('section.provider-card[data-provider="anthropic"]');
    const status = card.locator(".status-line");
    await card.locator(".provider-card__base-url input").fill(team!.fakes.anthropic.url);
    await card.locator(".provider-card__key input").fill(FAKE_API_KEYS.anthropic);
    await card.locator('vscode-button[aria-label="Save Anthropic settings"]').click();
    await status.filter({ hasText: "Saved" }).waitFor({ timeout: 30_000 });
    const activeToggle = card.locator("vscode-checkbox.provider-card__active");
    if (!(await activeToggle.evaluate((element) => (element as HTMLElement & { checked: boolean }).checked))) {
      await activeToggle.click();
      await status.filter({ hasText: "Anthropic is active" }).waitFor({ timeout: 30_000 });
    }
    await card.locator('vscode-button[aria-label="Refresh the models of Anthropic"]').click();
    await status.filter({ hasText: /Found \d+ models?/ }).waitFor({ timeout: 60_000 });
    const isChecked = (modelId: string) =>
      settings
        .locator(`li.model-row[data-model-id="${modelId}"] vscode-checkbox`)
        .evaluate((element) => (element as HTMLElement & { checked: boolean }).checked);
    assert.equal(await isChecked("anthropic:claude-sonnet-5-5"), true, "the newest Sonnet is visible by default");
    assert.equal(await isChecked("anthropic:claude-haiku-5-5"), true, "the newest Haiku is visible by default");
    assert.equal(await isChecked("anthropic:claude-opus-5-5"), false, "Opus is left for the admin to choose");

    // Live, without a reload: the status bar and the chat's header name the same model.
    await statusBarItem(workbench, FIRST_MODEL_LABEL).waitFor({ state: "visible", timeout: 30_000 });
    await waitUntil(
      "the chat's header to name the model",
      async () => ((await parts.modelButton.textContent()) ?? "").trim() === FIRST_MODEL_LABEL,
    );
    await runCommand(workbench, "View: Close All Editors");
  });

  it("focuses the chat input with Ctrl+Alt+U from an editor; Escape stops the answer; Up brings the last message back", async () => {
    const workbench = page!;
    const fakes = team!.fakes;
    await openFile(workbench, "greeting.ts");
    await workbench.locator(".editor-instance .monaco-editor .view-lines").click();
    await workbench.keyboard.press("Control+Alt+U");
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await waitUntil("the composer to have the focus", () => hasFocus(parts.composer));

    setTokenDelay(fakes, 60);
    fakes.anthropic.setReply({ text: Array.from({ length: 200 }, (_, index) => `word${index}`).join(" ") });
    try {
      await workbench.keyboard.type(question);
      await workbench.keyboard.press("Enter");
      await waitUntil(
        "part of the answer",
        async () => ((await parts.streamingAnswers.first().locator(".message__body").innerText()) ?? "").length > 0,
      );
      await workbench.keyboard.press("Escape");
      await chat.locator("article.message--assistant.message--stopped").first().waitFor({ timeout: 30_000 });
      await waitUntil("the provider call to be closed", async () => fakes.anthropic.requests.some((request) => request.clientClosed));
    } finally {
      setTokenDelay(fakes, 0);
      fakes.anthropic.setReply("echo");
    }
    assert.equal(await parts.composer.inputValue(), "");
    await parts.composer.focus();
    await workbench.keyboard.press("ArrowUp");
    assert.equal(await parts.composer.inputValue(), question, "Up in the empty composer brings the last message back");
    await workbench.keyboard.press("Control+A");
    await workbench.keyboard.press("Delete");
  });

  it("renames with F2 and deletes with Delete in the Conversations tree", async () => {
    const workbench = page!;
    // A second conversation, not the open one: the keys act on the tree's row, not on the chat's.
    const server = team!.server;
    const signedIn = await server.request("POST", "/auth/sign-in", { body: { name: ADMIN_NAME, password: PASSWORD } });
    const created = await server.request("POST", "/conversations", {
      token: signedIn.body.accessToken,
      body: { title: "Older notes", modelId: "anthropic:claude-haiku-5-5" },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await runCommand(workbench, "Juggler: Refresh Conversations");
    const rows = treeRows(workbench, "Conversations");
    await rows.filter({ hasText: "Older notes" }).first().waitFor({ timeout: 30_000 });
    await rows
      .filter({ hasText: new RegExp(escapeRegExp(question.slice(0, 12))) })
      .first()
      .waitFor({ timeout: 30_000 });

    // Enter on the row opens it (the chat shows it) and selects it; the tree keeps the focus.
    await selectWithKeyboard(workbench, "Older notes");
    await workbench.keyboard.press("Enter");
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    await waitUntil("the chat to show it", async () => ((await chatParts(chat).title.textContent()) ?? "").includes("Older notes"));
    await workbench.keyboard.press("F2");
    const titleInput = (await waitForQuickInput(workbench, "New title")).locator("input").first();
    assert.equal(await titleInput.inputValue(), "Older notes", "F2 renames the row the tree has focused");
    await answerInputBox(workbench, "New title", "Renamed with F2");
    const renamed = rows.filter({ hasText: "Renamed with F2" }).first();
    await renamed.waitFor({ timeout: 30_000 });
    await selectWithKeyboard(workbench, "Renamed with F2");
    await workbench.keyboard.press("Enter");
    await workbench.keyboard.press("Delete");
    // No confirmation: the conversation goes at once, with Undo in a notification for a few seconds.
    await workbench
      .locator(".notifications-toasts .notification-list-item", { hasText: "Deleted “Renamed with F2”" })
      .waitFor({ timeout: 15_000 });
    await renamed.waitFor({ state: "detached", timeout: 30_000 });
    // The open conversation was left alone.
    assert.ok(
      await rows
        .filter({ hasText: new RegExp(escapeRegExp(question.slice(0, 12))) })
        .first()
        .isVisible(),
    );
  });

  it("shows the server offline in the status bar, with Reconnect, and the model again once it is back", async () => {
    const workbench = page!;
    const offline = workbench.locator('.statusbar-item [aria-label*="Reconnect"], .statusbar-item[aria-label*="Reconnect"]').first();
    await proxy!.goDown();
    // Anything that needs the server notices it is gone (the chat also checks every 30 s on its own).
    await runCommand(workbench, "Juggler: Refresh Conversations");
    await offline.waitFor({ state: "visible", timeout: 30_000 });
    assert.match((await offline.getAttribute("aria-label")) ?? "", /Can't reach the Juggler server/);
    assert.equal(await statusBarItem(workbench, FIRST_MODEL_LABEL).count(), 0, "no model shown for a server that is gone");
    await screenshot(workbench, screenshotPath("offline.png"));

    await proxy!.comeBack();
    await offline.click().catch(() => undefined); // Reconnect (it may already have connected again by itself)
    await statusBarItem(workbench, FIRST_MODEL_LABEL).waitFor({ state: "visible", timeout: 60_000 });
  });
});

/**
 * Moves to a conversation in the Conversations tree the way a keyboard user does: focus the view
 * (its first row, "Today"), then Down until the row is the focused one. A click would open the
 * conversation and move the focus to the chat.
 */
async function selectWithKeyboard(page: Page, title: string): Promise<void> {
  const pane = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Conversations" }) });
  const focusedRow = pane.locator(".monaco-list-row.focused");
  const focusedText = async () => ((await focusedRow.count()) > 0 ? ((await focusedRow.first().textContent()) ?? "") : "");
  await runCommand(page, "Focus on Conversations View");
  await waitUntil("the tree to have the focus", () =>
    pane
      .locator(".monaco-list")
      .first()
      .evaluate((list) => list.contains(document.activeElement)),
  );
  for (let step = 0; step < 10 && !(await focusedText()).includes(title); step++) {
    await page.keyboard.press("ArrowDown");
    await page.waitForTimeout(150);
  }
  assert.ok((await focusedText()).includes(title), `the tree's focused row is "${title}"`);
}

function walkthroughStep(page: Page, id: string): Locator {
  return page.locator(`.getting-started-step[data-step-id="juggler.juggler#juggler.gettingStarted#${id}"]`);
}

async function openFile(page: Page, fileName: string): Promise<void> {
  await runCommand(page, "Go to File...");
  const fileInput = page.locator(".quick-input-widget input").first();
  await waitUntil("quick open", async () => (await fileInput.isVisible()) && !(await fileInput.inputValue()).startsWith(">"));
  await fileInput.fill(fileName);
  await pickQuickPickRow(page, fileName);
  await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor({ timeout: 30_000 });
}

/** Whether the element (inside a webview, inside a shadow root) is the one with the focus. */
async function hasFocus(element: Locator): Promise<boolean> {
  return element.evaluate((node) => node.ownerDocument.hasFocus() && (node.getRootNode() as Document | ShadowRoot).activeElement === node);
}

function setTokenDelay(fakes: FakeProviders, delayMs: number): void {
  for (const fake of [fakes.anthropic, fakes.groq, fakes.ollama]) fake.setTokenDelayMs(delayMs);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
