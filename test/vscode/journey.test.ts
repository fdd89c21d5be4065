/**
 * A new user's journey through Juggler in a real VS Code (code-server 4.139 = VS Code 1.139),
 * driven with Playwright like a person would: the extension is installed from the `.vsix` that
 * `vsce package` builds, the team server is fresh (the first account becomes admin) and the
 * providers are the local fakes in `echo` mode, so every answer states what the model received.
 *
 * Steps (each an `it`, in order): sign up → configure
 * providers and models in Team Settings → chat → switch model from the status bar → the next
 * answer carries the earlier turns → Send Selection to Model → a code-block answer → a link in it opens only once VS Code's
 * confirmation is accepted → the
 * Conversations tree: rename, delete → reload the window while an answer streams → it completes →
 * a 10,000-message conversation: open it, scroll to its first message, send, Show Context → a
 * fallback model answers for an overloaded one, and says so.
 * After a failed step the remaining ones are skipped.
 * Screenshots go to test-results/screenshots/, or to docs/screenshots/ with `npm run screenshots`
 * (JUGGLER_UPDATE_SCREENSHOTS=1); a failure leaves test-results/journey-failure.png.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { FakeProviders, ReplyMode } from "../../tools/fake-providers";
import { defaultAnthropicModels, parseEchoText } from "../../tools/fake-providers";
import { FAKE_API_KEYS } from "../../tools/harness/provider-setup";
import { screenshotPath } from "../support/screenshot-path";
import type { CodeServer } from "../../tools/vscode-host/code-server-process";
import { followJourney } from "../../tools/vscode-host/journey-lifecycle";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import { openViewContainer, runCommand, screenshot, statusBarItem, treeRows } from "../../tools/vscode-host/workbench-driver";
import {
  answerInputBox,
  chatParts,
  chooseFromContextMenu,
  dialogButton,
  findWebview,
  pickQuickPickRow,
  resizeFirstSideBarView,
  resizeSideBar,
  sendChatMessage,
  waitForAnimations,
  waitForQuickInput,
  waitUntil,
} from "../../tools/vscode-host/juggler-workbench";
import { prepareJourneyMachine } from "./support/journey-machine";
import { seedLongConversation, startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";

const FAILURE_SCREENSHOT = path.join(REPO_ROOT, "test-results", "journey-failure.png");
const LONG_CONVERSATION_MESSAGES = 10_000;
const LONG_CONVERSATION_TITLE = "Ten thousand messages";
const USER_NAME = "grace";
/** A link in an answer: `.invalid` never resolves, and the test answers it locally anyway. */
const LINK_URL_ORIGIN = "https://guide.juggler.invalid";
const LINK_URL = `${LINK_URL_ORIGIN}/getting-started`;
const PASSWORD = "a long enough password";
const ANTHROPIC_MODEL = { id: "anthropic:claude-sonnet-5-5", name: "claude-sonnet-5-5", label: "Claude Sonnet 5.5" };
const GROQ_MODEL = { id: "groq:llama-3.3-70b-versatile", name: "llama-3.3-70b-versatile" };
const CODE_ANSWER = [
  "Here is a small `debounce` helper:",
  "",
  "```typescript",
  "export function debounce<T extends unknown[]>(run: (...args: T) => void, waitMs: number) {",
  "  let timer: ReturnType<typeof setTimeout> | undefined;",
  "  return (...args: T) => {",
  "    clearTimeout(timer);",
  "    timer = setTimeout(() => run(...args), waitMs);",
  "  };",
  "}",
  "```",
  "",
  "Each call restarts the timer, so `run` fires once the calls stop for `waitMs` milliseconds.",
].join("\n");

describe("vscode: a new user's journey through Juggler in code-server", function () {
  // Warm: about 50 s. A first run also provisions code-server (≈ 2 min more, in the before hook).
  this.timeout(6 * 60_000);

  let team: TeamEnvironment | undefined;
  let codeServer: CodeServer | undefined;
  let page: Page | undefined;
  let tempDir: string;

  /** Facts carried from one step to the next. */
  const journey = {
    firstQuestion: "Hello Juggler, this is my first question",
    secondQuestion: "Which messages do you see now?",
    firstModelName: "",
    firstConversationTitle: "",
    codeConversationTitle: "",
  };

  before(async function () {
    this.timeout(10 * 60_000);
    const machine = await prepareJourneyMachine("juggler-journey-");
    tempDir = machine.tempDir;
    team = await startTeamEnvironment({ withAdmin: false });
    codeServer = await machine.startCodeServer(team.server.url);
    page = await machine.openWorkbench(codeServer);
  });

  // Each step builds on the ones before: after a failure the rest are skipped. (Not mocha's bail:
  // it also skips this suite when any earlier suite of the same `npm test` run failed.)
  followJourney(FAILURE_SCREENSHOT, () => ({ page, codeServer, team, tempDir }));

  it("signs up from the command palette; the first account becomes admin", async () => {
    const workbench = page!;
    // The empty secondary side bar would only take room from the screenshots.
    await runCommand(workbench, "View: Hide Secondary Side Bar");
    await statusBarItem(workbench, "Juggler: Sign In").waitFor({ state: "visible", timeout: 60_000 });
    await runCommand(workbench, "Juggler: Sign In");
    // Juggler's own prompts at once: no consent dialog for the extension's own provider.
    const serverPrompt = "address of your team's Juggler server";
    const serverInput = (await waitForQuickInput(workbench, serverPrompt)).locator("input").first();
    assert.equal(await serverInput.inputValue(), team!.server.url, "the server address comes from juggler.serverUrl");
    await answerInputBox(workbench, serverPrompt, team!.server.url);
    await pickQuickPickRow(workbench, "Create account");
    await answerInputBox(workbench, "Your name on the team server", USER_NAME);
    await answerInputBox(workbench, "Choose a password", PASSWORD);
    // Signed in, no model visible yet: the status bar says so.
    await statusBarItem(workbench, "No model").waitFor({ state: "visible", timeout: 30_000 });

    // The Accounts menu lists the session.
    await workbench.locator('.activitybar .action-label[aria-label^="Accounts"]').first().click();
    await workbench.locator(".monaco-menu .action-label", { hasText: USER_NAME }).first().waitFor({ state: "visible", timeout: 15_000 });
    await workbench.keyboard.press("Escape");
  });

  it("lets the admin connect providers and choose models in Team Settings", async () => {
    const workbench = page!;
    const fakes = team!.fakes;
    await runCommand(workbench, "Juggler: Team Settings");
    const settings = await findWebview(workbench, ".team-settings-app");
    const providers = [
      { kind: "anthropic", label: "Anthropic", url: fakes.anthropic.url, key: FAKE_API_KEYS.anthropic, modelId: ANTHROPIC_MODEL.id },
      { kind: "groq", label: "Groq", url: fakes.groq.url, key: FAKE_API_KEYS.groq, modelId: GROQ_MODEL.id },
    ];
    for (const provider of providers) {
      const card = settings.locator(`section.provider-card[data-provider="${provider.kind}"]`);
      const status = card.locator(".status-line");
      await card.locator(".provider-card__base-url input").fill(provider.url);
      await card.locator(".provider-card__key input").fill(provider.key);
      await card.locator(`vscode-button[aria-label="Save ${provider.label} settings"]`).click();
      await status.filter({ hasText: "Saved" }).waitFor({ timeout: 30_000 });
      // The key is shown masked, never in full.
      const masked = (await card.locator(".masked-key").textContent()) ?? "";
      assert.ok(masked.startsWith("••••") && !masked.includes(provider.key.slice(0, 8)), `masked key: ${masked}`);

      const activeToggle = card.locator("vscode-checkbox.provider-card__active");
      if (!(await activeToggle.evaluate((element) => (element as HTMLElement & { checked: boolean }).checked))) {
        await activeToggle.click();
        await status.filter({ hasText: `${provider.label} is active` }).waitFor({ timeout: 30_000 });
      }
      await card.locator(`vscode-button[aria-label="Test the connection to ${provider.label}"]`).click();
      await status.filter({ hasText: "Connected" }).waitFor({ timeout: 60_000 });
      assert.equal(await status.getAttribute("data-kind"), "success");
      await card.locator(`vscode-button[aria-label="Refresh the models of ${provider.label}"]`).click();
      await status.filter({ hasText: /Found \d+ models?/ }).waitFor({ timeout: 60_000 });

      // The provider's first refresh showed its well-known chat models: nothing to tick.
      const modelRow = settings.locator(`li.model-row[data-model-id="${provider.modelId}"]`);
      await modelRow.waitFor({ timeout: 30_000 });
      if (provider.kind === "groq") {
        // Sized the way the members' model picker sizes it (131,072 tokens).
        assert.equal((await modelRow.locator(".model-row__context").innerText()).trim(), "128K context");
      }
      assert.equal(
        await modelRow.locator("vscode-checkbox").evaluate((element) => (element as HTMLElement & { checked: boolean }).checked),
        true,
      );
    }
    // The providers, as configured, at the top of the screenshot.
    await settings.locator("section.provider-card").first().scrollIntoViewIfNeeded();
    await settings.locator(".settings-page").evaluate((element) => element.scrollIntoView({ block: "start" }));
    await screenshot(workbench, screenshotPath("team-settings.png"));
    // Members' status bar follows the admin's choice: a model is there now.
    await waitUntil("the status bar to show a model", async () => !(await statusBarItem(workbench, "No model").isVisible()));
    await runCommand(workbench, "View: Close All Editors");
  });

  it("chats in the sidebar: the answer streams into the webview", async () => {
    const workbench = page!;
    await openViewContainer(workbench, "Juggler");
    await resizeSideBar(workbench, 520);
    await resizeFirstSideBarView(workbench, 560);
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    // Paced so the stream can be seen arriving (and Stop offered) before the answer completes.
    setTokenDelay(team!.fakes, 40);
    try {
      await sendChatMessage(chat, journey.firstQuestion);
      await waitUntil(
        "part of the answer, still streaming",
        async () => ((await parts.streamingAnswers.first().locator(".message__body").innerText()) ?? "").length > 0,
      );
      assert.equal(await parts.stopButton.isVisible(), true, "Stop is offered while the answer streams");
    } finally {
      setTokenDelay(team!.fakes, 0);
    }
    const answer = parts.completeAnswers.filter({ hasText: `user: "${journey.firstQuestion}"` });
    await answer.waitFor({ timeout: 30_000 });
    assert.equal(await parts.stopButton.isVisible(), false, "Stop goes away when the answer is complete");
    const text = (await answer.locator(".message__body").innerText()).trim();
    assert.match(text, /^ECHO model=\S+ system=.* messages=1/);
    journey.firstModelName = /^ECHO model=(\S+)/.exec(text)![1]!;
    // The status bar names the model that answered, by its display name; so does the answer.
    await statusBarItem(workbench, labelOf(journey.firstModelName)).waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await answer.locator(".message__metadata").innerText(), new RegExp(`^${escapeRegExp(labelOf(journey.firstModelName))} ·`));
    // The server titled the conversation after the first message.
    await waitUntil("the conversation title", async () => ((await parts.title.textContent()) ?? "New conversation") !== "New conversation");
    journey.firstConversationTitle = ((await parts.title.textContent()) ?? "").trim();
  });

  it("switches model from the status bar; the next answer sees the earlier turns", async () => {
    const workbench = page!;
    const isFirstAnthropic = journey.firstModelName.startsWith("claude-");
    const current = labelOf(journey.firstModelName);
    const target = isFirstAnthropic ? GROQ_MODEL.name : ANTHROPIC_MODEL.label;
    const targetName = isFirstAnthropic ? GROQ_MODEL.name : ANTHROPIC_MODEL.name;
    await statusBarItem(workbench, current).click();
    const picker = await waitForQuickInput(workbench, "Switch Model");
    await workbench.locator(".quick-input-list .monaco-list-row", { hasText: target }).first().waitFor({ timeout: 15_000 });
    // Grouped by provider, with each model's context window.
    assert.ok((await picker.locator(".quick-input-list .monaco-list-row", { hasText: "context" }).count()) >= 2);
    const pickerText = await picker.locator(".quick-input-list").innerText();
    assert.ok(pickerText.includes("Anthropic") && pickerText.includes("Groq"), pickerText);
    assert.ok(pickerText.includes("128K context"), "the Groq model's window, as Team Settings shows it");
    await waitForAnimations(picker);
    await screenshot(workbench, screenshotPath("model-switch.png"));
    await pickQuickPickRow(workbench, target);
    await statusBarItem(workbench, target).waitFor({ state: "visible", timeout: 15_000 });

    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await sendChatMessage(chat, journey.secondQuestion);
    const answer = parts.completeAnswers.filter({ hasText: `user: "${journey.secondQuestion}"` });
    await answer.waitFor({ timeout: 30_000 });
    const text = (await answer.locator(".message__body").innerText()).trim();
    // The new model received the whole conversation: the first question AND the first answer.
    assert.match(text, new RegExp(`^ECHO model=${escapeRegExp(targetName)} system=.* messages=3`));
    assert.ok(text.includes(`user: "${journey.firstQuestion}"`), text);
    assert.ok(text.includes(`assistant: "ECHO model=${journey.firstModelName} `), text);

    // And exactly so, as the server stored it (markdown rendering unescapes the echo's quotes).
    const stored = await newestConversationOnServer();
    assert.equal(stored.length, 4);
    assert.deepEqual(parseEchoText(stored[3]!.content).messages, [
      { role: "user", text: journey.firstQuestion },
      { role: "assistant", text: stored[1]!.content },
      { role: "user", text: journey.secondQuestion },
    ]);
  });

  it("sends an editor selection with its file path and line range", async () => {
    const workbench = page!;
    await runCommand(workbench, "Go to File...");
    const fileInput = workbench.locator(".quick-input-widget input").first();
    await waitUntil("quick open", async () => (await fileInput.isVisible()) && !(await fileInput.inputValue()).startsWith(">"));
    await fileInput.fill("greeting.ts");
    await pickQuickPickRow(workbench, "greeting.ts");
    const editorLines = workbench.locator(".editor-instance .monaco-editor .view-lines");
    await editorLines.filter({ hasText: "export function greet" }).waitFor({ timeout: 30_000 });
    // Lines 3–5 (the function), selected with the keyboard like a person would.
    await editorLines.click();
    await workbench.keyboard.press("Control+Home");
    await workbench.keyboard.press("ArrowDown");
    await workbench.keyboard.press("ArrowDown");
    for (let line = 0; line < 3; line++) await workbench.keyboard.press("Shift+ArrowDown");
    const selection = workbench.locator(".editor-instance .monaco-editor .view-overlays .selected-text").first();
    await selection.waitFor({ timeout: 15_000 });
    await chooseFromContextMenu(workbench, selection, "Send Selection to Model");
    await answerInputBox(workbench, "What should the model do", "Explain what greet returns");

    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    const sent = parts.userMessages.filter({ hasText: "Explain what greet returns" });
    await parts.completeAnswers.filter({ hasText: "Explain what greet returns" }).waitFor({ timeout: 30_000 });
    // The list followed the answer to its end (nobody scrolled it).
    await waitUntil(
      "the chat to show the end of the answer",
      async () => (await chat.locator(".message-list").evaluate((list) => list.scrollHeight - list.scrollTop - list.clientHeight)) <= 8,
    );
    // The answer (an echo of the whole conversation) can be taller than the list keeps around the
    // viewport, so the message it answers is found by scrolling up to it, as a reader would.
    await waitUntil("the sent message above the answer", async () => {
      if ((await sent.count()) > 0) return true;
      await chat.locator(".message-list").evaluate((list) => list.scrollBy(0, -list.clientHeight / 2));
      return false;
    });
    const sentText = await sent.innerText();
    assert.match(sentText, /src\/greeting\.ts/);
    assert.match(sentText, /lines 3–5/);
    assert.match(sentText, /\(typescript\)/);
    assert.match(sentText, /export function greet\(name: string\): string \{/);
    // The picture: the selection in the editor and, in the chat, the message it became.
    await sent.evaluate((element) => element.scrollIntoView({ block: "start" }));
    await screenshot(workbench, screenshotPath("send-selection.png"));
  });

  it("renders a streamed answer with a highlighted code block and its actions", async () => {
    const workbench = page!;
    await runCommand(workbench, "View: Close All Editors");
    await runCommand(workbench, "Juggler: New Conversation");
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await waitUntil("an empty chat", async () => (await parts.messages.count()) === 0);
    setReply(team!.fakes, { text: CODE_ANSWER });
    try {
      await sendChatMessage(chat, "Show me a debounce helper in TypeScript");
      const answer = parts.completeAnswers.filter({ hasText: "Each call restarts the timer" });
      await answer.waitFor({ timeout: 30_000 });
      const code = answer.locator("pre code");
      await code.first().waitFor({ timeout: 15_000 });
      assert.match(await code.first().innerText(), /export function debounce/);
      // One background for the whole block: VS Code's default webview style for <code> must not
      // paint a band behind each line.
      assert.equal(await code.first().evaluate((element) => getComputedStyle(element).backgroundColor), "rgba(0, 0, 0, 0)");
      // Highlighted: the keywords are wrapped in highlight.js spans.
      assert.ok((await answer.locator("pre code .hljs-keyword").count()) > 0, "the code block is highlighted");
      for (const action of ["Copy", "Insert", "Open"]) {
        assert.ok((await answer.locator(`[aria-label*="${action}"]`).count()) > 0, `the code block offers ${action}`);
      }
      await waitUntil(
        "the conversation title",
        async () => ((await parts.title.textContent()) ?? "New conversation") !== "New conversation",
      );
      journey.codeConversationTitle = ((await parts.title.textContent()) ?? "").trim();
      // The same chat in an editor tab has room for the code: that is the screenshot.
      await runCommand(workbench, "Juggler: Open Chat in Editor");
      await waitUntil("the chat in an editor tab", async () => (await workbench.locator(".tab", { hasText: "Juggler Chat" }).count()) > 0);
      const editorChat = await findWebview(workbench, ".chat-app", { isInEditorArea: true });
      await chatParts(editorChat).completeAnswers.filter({ hasText: "Each call restarts the timer" }).waitFor({ timeout: 30_000 });
      await screenshot(workbench, screenshotPath("chat.png"));
      await runCommand(workbench, "View: Close All Editors");
    } finally {
      setReply(team!.fakes, "echo");
    }
  });

  it("opens a link from an answer only once VS Code's confirmation is accepted; Cancel opens nothing", async () => {
    const workbench = page!;
    const context = workbench.context();
    // Nothing leaves the machine: a tab that opens gets a local page instead of the (unresolvable) site.
    await context.route(`${LINK_URL_ORIGIN}/**`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<title>The guide</title>" }),
    );
    const opened: Page[] = [];
    const onPage = (newPage: Page) => opened.push(newPage);
    context.on("page", onPage);
    setReply(team!.fakes, { text: `Read [the guide](${LINK_URL}) first.` });
    try {
      const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
      const parts = chatParts(chat);
      await sendChatMessage(chat, "Where is the guide?");
      const answer = parts.completeAnswers.filter({ hasText: "Read the guide first." });
      await answer.waitFor({ timeout: 30_000 });
      const link = answer.locator("a.markdown-link");
      const confirmation = workbench.locator(".monaco-dialog-box", { hasText: "open the external website" });

      await link.click();
      await confirmation.waitFor({ state: "visible", timeout: 15_000 });
      await screenshot(workbench, screenshotPath("link-confirmation.png"));
      assert.equal(opened.length, 0, `nothing opens before the confirmation: ${opened.map((tab) => tab.url()).join(", ")}`);
      await dialogButton(workbench, "Cancel").click();
      await confirmation.waitFor({ state: "hidden", timeout: 15_000 });
      // time enough for a tab that opens anyway to show up
      await workbench.waitForTimeout(2_000);
      assert.equal(await workbench.locator(".monaco-dialog-box").count(), 0, "one confirmation, not one per path");
      assert.equal(opened.length, 0, `Cancel opens nothing: ${opened.map((tab) => tab.url()).join(", ")}`);

      await link.click();
      await confirmation.waitFor({ state: "visible", timeout: 15_000 });
      await dialogButton(workbench, "Open").click();
      await waitUntil("the link's tab to open", async () => opened.length > 0);
      await workbench.waitForTimeout(1_000);
      assert.equal(opened.length, 1, "opened once");
      await waitUntil("the tab to load the link", async () => opened[0]!.url().startsWith(LINK_URL));
    } finally {
      setReply(team!.fakes, "echo");
      context.off("page", onPage);
      for (const tab of opened) await tab.close().catch(() => undefined);
      await context.unroute(`${LINK_URL_ORIGIN}/**`);
    }
  });

  it("shows the conversations under Today; renames and deletes from the tree", async () => {
    const workbench = page!;
    const rows = treeRows(workbench, "Conversations");
    const row = (title: string) => rows.filter({ hasText: title }).first();
    await rows.filter({ hasText: "Today" }).first().waitFor({ timeout: 30_000 });
    await row(journey.firstConversationTitle).waitFor({ timeout: 30_000 });
    await row(journey.codeConversationTitle).waitFor({ timeout: 30_000 });
    await screenshot(workbench, screenshotPath("conversation-tree.png"));

    const newTitle = "Greeting review";
    await chooseFromContextMenu(workbench, row(journey.firstConversationTitle), "Rename Conversation");
    await answerInputBox(workbench, "New title", newTitle);
    await row(newTitle).waitFor({ timeout: 30_000 });
    await rows.filter({ hasText: journey.firstConversationTitle }).waitFor({ state: "detached", timeout: 30_000 });

    await chooseFromContextMenu(workbench, row(journey.codeConversationTitle), "Delete Conversation");
    // No confirmation: the conversation goes at once, with Undo in a notification for a few seconds.
    await workbench
      .locator(".notifications-toasts .notification-list-item", { hasText: `Deleted “${journey.codeConversationTitle}”` })
      .waitFor({ timeout: 30_000 });
    await rows.filter({ hasText: journey.codeConversationTitle }).waitFor({ state: "detached", timeout: 30_000 });
    assert.equal(await row(newTitle).isVisible(), true, "the other conversation stays");
  });

  it("re-attaches after a window reload while an answer streams, and the answer completes", async () => {
    const workbench = page!;
    const fakes = team!.fakes;
    // Long enough that the chat overflows and follows the stream (it scrolls on every batch of
    // text) well before the answer is complete: the reload lands in the middle of that.
    const wordCount = 150;
    const words = Array.from({ length: wordCount }, (_, index) => `word${index + 1}`).join(" ");
    const question = `Please repeat slowly: ${words}`;
    await runCommand(workbench, "Juggler: New Conversation");
    let chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    let parts = chatParts(chat);
    await waitUntil("an empty chat", async () => (await parts.messages.count()) === 0);
    setTokenDelay(fakes, 80);
    try {
      await sendChatMessage(chat, question);
      await waitUntil("the answer to stream into a chat that scrolls", async () => {
        const partial =
          (await parts.streamingAnswers
            .first()
            .locator(".message__body")
            .innerText()
            .catch(() => "")) ?? "";
        const overflowPx = await chat.locator(".message-list").evaluate((list) => list.scrollHeight - list.clientHeight);
        return partial.length > 0 && overflowPx > 50;
      });
      const chatCallsBefore = chatCalls(fakes).length;

      const reloaded = workbench.waitForEvent("load", { timeout: 60_000 });
      await runCommand(workbench, "Developer: Reload Window");
      await reloaded;
      await workbench.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
      chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false, timeoutMs: 60_000 });
      parts = chatParts(chat);
      const answer = parts.completeAnswers.filter({ hasText: `word${wordCount}"` });
      await answer.waitFor({ timeout: 60_000 });
      const text = await answer.locator(".message__body").innerText();
      assert.ok(text.includes(`user: "${question}"`), text);
      assert.match(text, /messages=1/);
      // The reload did not restart the generation: one provider call, finished, never cut off.
      const calls = chatCalls(fakes);
      assert.equal(calls.length, chatCallsBefore);
      assert.equal(calls.at(-1)!.completed, true);
      assert.equal(calls.at(-1)!.clientClosed, false);
    } finally {
      setTokenDelay(fakes, 0);
    }
  });

  it("opens a 10,000-message conversation, scrolls to its first message, sends, and shows the answer's context", async () => {
    const workbench = page!;
    const fakes = team!.fakes;
    const signedIn = await team!.server.request("POST", "/auth/sign-in", { body: { name: USER_NAME, password: PASSWORD } });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    const seeded = await seedLongConversation(team!.server, {
      userId: signedIn.body.user.id as string,
      messageCount: LONG_CONVERSATION_MESSAGES,
      modelId: GROQ_MODEL.id,
      title: LONG_CONVERSATION_TITLE,
    });
    assert.equal(seeded.messageIds.length, LONG_CONVERSATION_MESSAGES);

    await runCommand(workbench, "Juggler: Refresh Conversations");
    const row = treeRows(workbench, "Conversations").filter({ hasText: LONG_CONVERSATION_TITLE }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await waitUntil("the chat to show the conversation", async () =>
      ((await parts.title.textContent()) ?? "").includes(LONG_CONVERSATION_TITLE),
    );
    await parts.messages
      .filter({ hasText: `Answer ${LONG_CONVERSATION_MESSAGES}:` })
      .first()
      .waitFor({ timeout: 60_000 });

    // To the top the way a keyboard user gets there: Home in the message list, again while older pages load.
    const list = chat.locator(".message-list");
    const firstMessage = parts.messages.filter({ hasText: "Message 1: question 1 of a long conversation." });
    await waitUntil(
      "the first of the 10,000 messages",
      async () => {
        if (await firstMessage.isVisible()) return true;
        await list.focus();
        await list.press("Home");
        return false;
      },
      120_000,
    );

    const question = "Still with me after ten thousand messages?";
    const reply = "Yes: the newest messages verbatim, the older ones as the context record says.";
    setReply(fakes, { text: reply });
    try {
      await sendChatMessage(chat, question);
      await parts.completeAnswers.filter({ hasText: reply }).waitFor({ timeout: 60_000 });
    } finally {
      setReply(fakes, "echo");
    }

    await runCommand(workbench, "Juggler: Show Context of Last Answer");
    const tab = workbench.locator(".tab", { hasText: `Context of ${GROQ_MODEL.name}'s answer` });
    await tab.waitFor({ timeout: 60_000 });
    assert.ok((await tab.innerText()).includes(LONG_CONVERSATION_TITLE), await tab.innerText());
    const editorLines = workbench.locator(".editor-instance .monaco-editor .view-lines");
    const shownText = async () => ((await editorLines.first().innerText()) ?? "").replace(/\u00a0/g, " ");
    await waitUntil("the context's first lines", async () => (await shownText()).includes("# Context of an answer"));
    const top = await shownText();
    assert.ok(top.includes(`| Model | ${GROQ_MODEL.name} (\`${GROQ_MODEL.id}\`) |`), top);
    assert.ok(top.includes("| Provider | Groq |"), top);
    await screenshot(workbench, screenshotPath("show-context.png"));

    // The question is the last message the request carried: at the end, once every page arrived.
    await editorLines.first().click();
    await waitUntil(
      "the question at the end of the context",
      async () => {
        await workbench.keyboard.press("Control+End");
        return (await shownText()).includes(question);
      },
      60_000,
    );
    // Read-only: typing changes nothing.
    await workbench.keyboard.press("Control+Home");
    await workbench.keyboard.type("typed ");
    await waitUntil("the top again", async () => (await shownText()).includes("# Context of an answer"));
    assert.ok(!(await shownText()).includes("typed"), "the context cannot be edited");
    await runCommand(workbench, "View: Close All Editors");
  });

  /** The messages of the user's newest conversation, read through the API as the journey's user. */
  it("answers from a fallback model when the model is overloaded, says which and why, and reruns on the first", async () => {
    const workbench = page!;
    const fakes = team!.fakes;
    // The admin gives the Groq model a fallback in Team Settings.
    await runCommand(workbench, "Juggler: Team Settings");
    const settings = await findWebview(workbench, ".team-settings-app");
    const section = settings.locator(".fallbacks-section");
    await section.locator(".fallbacks-form__model").selectOption(GROQ_MODEL.id);
    await section.locator(".fallbacks-form__fallback").selectOption(ANTHROPIC_MODEL.id);
    await section.locator('vscode-button[aria-label="Add this fallback"]').click();
    await section.locator(".status-line", { hasText: "falls back to" }).waitFor({ timeout: 30_000 });
    await section
      .locator(`.fallback-entry[data-model-id="${GROQ_MODEL.id}"] .fallback-entry__name`, { hasText: ANTHROPIC_MODEL.label })
      .waitFor();
    await runCommand(workbench, "View: Close Editor");

    // A new conversation on the Groq model, which is overloaded for its first try and both retries.
    await runCommand(workbench, "Juggler: New Conversation");
    await statusBarItem(workbench, GROQ_MODEL.name).waitFor({ state: "visible", timeout: 15_000 });
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    fakes.groq.setFaults({ fault: "overloaded", times: 3, retryAfterSeconds: 0 });
    const question = "Are you there, Llama?";
    await sendChatMessage(chat, question);
    const answer = parts.completeAnswers.filter({ hasText: `user: "${question}"` });
    await answer.waitFor({ timeout: 60_000 });
    // The echo says who received the question: the fallback, with the question as the first model got it.
    assert.match(
      (await answer.locator(".message__body").innerText()).trim(),
      new RegExp(`^ECHO model=${escapeRegExp(ANTHROPIC_MODEL.name)} `),
    );
    const note = answer.locator(".message__fallback");
    assert.equal(
      (await note.locator(".message__fallback-text").innerText()).trim(),
      `Answered by ${ANTHROPIC_MODEL.name} because ${GROQ_MODEL.name} was overloaded`,
    );
    await note.scrollIntoViewIfNeeded();
    await screenshot(workbench, screenshotPath("fallback-answer.png"));

    // Rerun on the model asked for: it answers now, beside the fallback's answer.
    await note.locator("button.message__fallback-rerun", { hasText: `Rerun on ${GROQ_MODEL.name}` }).click();
    const rerun = parts.completeAnswers.filter({ hasText: new RegExp(`ECHO model=${escapeRegExp(GROQ_MODEL.name)} `) });
    await rerun.waitFor({ timeout: 60_000 });
    assert.equal(await rerun.locator(".message__fallback").count(), 0);
  });

  async function newestConversationOnServer(): Promise<Array<{ role: string; content: string }>> {
    const server = team!.server;
    const signIn = await server.request("POST", "/auth/sign-in", { body: { name: USER_NAME, password: PASSWORD } });
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    const token = signIn.body.accessToken as string;
    const list = await server.request("GET", "/conversations", { token });
    const conversationId = list.body.conversations[0].id as string;
    const detail = await server.request("GET", `/conversations/${conversationId}`, { token });
    return detail.body.messages as Array<{ role: string; content: string }>;
  }
});

function setReply(fakes: FakeProviders, reply: ReplyMode): void {
  for (const fake of [fakes.anthropic, fakes.groq, fakes.ollama]) fake.setReply(reply);
}

function setTokenDelay(fakes: FakeProviders, delayMs: number): void {
  for (const fake of [fakes.anthropic, fakes.groq, fakes.ollama]) fake.setTokenDelayMs(delayMs);
}

/** Streaming chat calls every fake received, oldest first. */
function chatCalls(fakes: FakeProviders) {
  return [fakes.anthropic, fakes.groq, fakes.ollama]
    .flatMap((fake) => fake.requests.filter((request) => request.method === "POST"))
    .sort((first, second) => first.receivedAt - second.receivedAt);
}

/** A model's display name, as the picker, the status bar and the answers show it (the fakes' own names). */
function labelOf(modelName: string): string {
  return defaultAnthropicModels.find((model) => model.id === modelName)?.displayName ?? modelName;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
