/**
 * The library in a real VS Code (code-server 4.139 = VS Code 1.139), driven with Playwright like a
 * person would, against the real team server: a member who has kept many conversations finds one by
 * what was said, finds within it, organises the tree (This Workspace / All, pin, archive, move, a
 * title filter), exports, imports, and deletes with Undo. The extension is installed from the `.vsix`.
 *
 * Steps (each an `it`, in order; after a failed step the rest are skipped): sign in → search to a
 * message on another branch → find in the chat → the tree: scope, pin, archive, move, filter →
 * export (Markdown in an editor, Juggler JSON to a file) and import (a ChatGPT export) → delete with
 * Undo. Screenshots go to test-results/screenshots/ (docs/screenshots/ with `npm run screenshots`).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { buildLongConversation } from "../../tools/harness/long-conversation";
import { ADMIN_NAME, ADMIN_PASSWORD, startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";
import type { CodeServer } from "../../tools/vscode-host/code-server-process";
import { followJourney } from "../../tools/vscode-host/journey-lifecycle";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import {
  answerInputBox,
  chatParts,
  chooseFromContextMenu,
  chooseFromContextMenuUntil,
  findWebview,
  pickQuickPickRow,
  waitForAnimations,
  waitForQuickInput,
  waitUntil,
  signInWithCommand,
} from "../../tools/vscode-host/juggler-workbench";
import { clearNotifications, runCommand, screenshot, treeRows } from "../../tools/vscode-host/workbench-driver";
import { CHATGPT_EXPORT } from "../server/fixtures/chatgpt-export";
import { screenshotPath } from "../support/screenshot-path";
import { prepareJourneyMachine } from "./support/journey-machine";

const FAILURE_SCREENSHOT = path.join(REPO_ROOT, "test-results", "library-journey-failure.png");
const LONG_TITLE = "Postgres migration plan";
const LONG_MESSAGES = 400;
/** The message the search finds: early in the conversation, on a branch that is no longer the current one. */
const REMEMBERED_INDEX = 20;
const REMEMBERED_TEXT = "We agreed on the flamingo protocol for every rollback.";

describe("vscode: the library (search, find, organise, export, import) in code-server", function () {
  this.timeout(6 * 60_000);

  let team: TeamEnvironment | undefined;
  let codeServer: CodeServer | undefined;
  let page: Page | undefined;
  let tempDir: string;
  let workspaceUri: string;
  let token: string;
  const seeded: Record<string, string> = {};
  let rememberedMessageId = "";

  before(async function () {
    this.timeout(10 * 60_000);
    const machine = await prepareJourneyMachine("juggler-library-journey-");
    tempDir = machine.tempDir;
    const { workspace } = machine;
    // how VS Code names the folder (vscode.Uri.file(…).toString()) for a plain temporary path
    workspaceUri = `file://${workspace}`;
    team = await startTeamEnvironment({ withAdmin: true });
    token = team.admin!.accessToken;
    await seedLibrary();
    codeServer = await machine.startCodeServer(team.server.url, { "files.simpleDialog.enable": true });
    page = await machine.openWorkbench(codeServer);
  });

  followJourney(FAILURE_SCREENSHOT, () => ({ page, codeServer, team, tempDir }));

  /**
   * The member's library, written through the server's storage: a long conversation in this folder
   * whose current branch no longer holds the remembered message (an edit forked it above), one in
   * another folder, one in none, one archived.
   */
  async function seedLibrary(): Promise<void> {
    const server = team!.server;
    const userId = (await server.request("GET", "/me", { token })).body.user.id as string;
    const create = async (title: string, workspaceHint?: string) => {
      const created = await server.request("POST", "/conversations", { token, body: workspaceHint ? { title, workspaceHint } : { title } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.conversation.id as string;
    };
    const modelId = team!.admin!.models.groq[0]!;
    seeded.long = await create(LONG_TITLE, workspaceUri);
    const built = await buildLongConversation({
      database: server.database,
      userId,
      conversationId: seeded.long,
      messageCount: LONG_MESSAGES,
      answeredBy: { provider: "groq", modelId },
      startAt: Date.now() - 3_600_000,
      contentOf: (index) =>
        index === REMEMBERED_INDEX
          ? REMEMBERED_TEXT
          : index % 37 === 3
            ? `Message ${index}: the rollback step runs after the backup.`
            : `Message ${index}: about the schema of the orders table.`,
    });
    rememberedMessageId = built.messageIds[REMEMBERED_INDEX]!;
    // an edit of message 11 (newer): the conversation now shows that branch, without the remembered message
    const fork = await server.request("POST", `/conversations/${seeded.long}/messages`, {
      token,
      body: { content: "Let us start over with a plain dump and restore.", modelId, parentId: built.messageIds[10] },
    });
    assert.equal(fork.status, 202, JSON.stringify(fork.body));
    await waitUntil(
      "the fork's answer",
      async () =>
        (await server.request("GET", `/messages/${fork.body.assistantMessage.id}`, { token })).body.message.status !== "streaming",
    );
    seeded.kubernetes = await create("Kubernetes notes", "file:///elsewhere/infra");
    seeded.lunch = await create("Team lunch ideas");
    seeded.archived = await create("Old archived thing");
    await server.request("PATCH", `/conversations/${seeded.archived}`, { token, body: { isArchived: true } });
  }

  const conversationsPane = () => page!.locator(".pane", { has: page!.locator(".pane-header", { hasText: "Conversations" }) });
  const rows = () => treeRows(page!, "Conversations");
  const row = (text: string) => rows().filter({ hasText: text }).first();
  const onServer = async (conversationId: string) =>
    (await team!.server.request("GET", `/conversations/${conversationId}`, { token })).body;

  it("signs in to the team server", async () => {
    await signInWithCommand(page!, { serverUrl: team!.server.url, name: ADMIN_NAME, password: ADMIN_PASSWORD }, 520);
    await row(LONG_TITLE).waitFor({ timeout: 30_000 });
  });

  it("searches by what was said: the result opens its conversation on that message's branch, scrolled to it and marked", async () => {
    const workbench = page!;
    await runCommand(workbench, "Juggler: Search Conversations");
    const picker = await waitForQuickInput(workbench, "Search Conversations");
    const input = picker.locator("input").first();
    // typed key by key (the search runs as one types); a key pressed before the freshly opened
    // picker took the focus is lost on a loaded machine, so the text is made whole if it was
    await input.focus();
    await input.pressSequentially("flamingo proto", { delay: 30 });
    if ((await input.inputValue()) !== "flamingo proto") await input.fill("flamingo proto");
    const result = picker.locator(".quick-input-list .monaco-list-row", { hasText: LONG_TITLE }).first();
    await result.waitFor({ timeout: 30_000 });
    assert.match(await result.innerText(), /flamingo protocol for every rollback/, "the snippet is the result's detail");
    await waitForAnimations(picker);
    await screenshot(workbench, screenshotPath("search-conversations.png"));
    await result.click();

    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await waitUntil("the chat to show the conversation", async () => ((await parts.title.textContent()) ?? "").includes(LONG_TITLE));
    const remembered = chat.locator(`article.message[data-message-id="${rememberedMessageId}"]`);
    await remembered.waitFor({ timeout: 60_000 });
    await waitUntil("the message to be scrolled into view", async () => {
      const [box, list] = await Promise.all([remembered.boundingBox(), chat.locator(".message-list").boundingBox()]);
      return box !== null && list !== null && box.y >= list.y - 1 && box.y < list.y + list.height;
    });
    assert.equal(
      await remembered.evaluate((element) => element === document.activeElement),
      true,
      "the message has focus (a screen reader reads it)",
    );
    // the server moved the conversation onto that branch: the next message continues it
    const detail = await onServer(seeded.long!);
    assert.equal(detail.branchMessageCount, LONG_MESSAGES);
  });

  it("finds in the open chat with Ctrl+F, also in messages not loaded yet", async () => {
    const workbench = page!;
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    await chat.locator(".message-list").click({ position: { x: 20, y: 20 } });
    await workbench.keyboard.press("Control+f");
    const input = chat.locator(".find-bar__input");
    await input.waitFor({ state: "visible", timeout: 15_000 });
    await input.pressSequentially("rollback step", { delay: 20 });
    const expected = (
      await team!.server.request("GET", `/conversations/${seeded.long}/find?q=${encodeURIComponent("rollback step")}`, { token })
    ).body;
    assert.ok(expected.totalCount > 5, JSON.stringify(expected));
    const count = chat.locator(".find-bar__count");
    await waitUntil("the count of every match on the branch", async () =>
      new RegExp(`^\\d+ of ${expected.totalCount}$`).test((await count.textContent()) ?? ""),
    );
    const before = await count.textContent();
    await input.press("Enter");
    await waitUntil("the next match", async () => (await count.textContent()) !== before);
    await screenshot(workbench, screenshotPath("find-in-chat.png"));
    await input.press("Escape");
    await chat.locator(".find-bar").waitFor({ state: "hidden" });
  });

  it("organises the tree: This Workspace and All, pin, archive, move to this workspace, filter by title", async () => {
    const workbench = page!;
    const description = conversationsPane().locator(".pane-header .description");
    await waitUntil("the scope in the view's description", async () => ((await description.textContent()) ?? "").includes("All"));
    await row("Kubernetes notes").waitFor({ timeout: 30_000 });

    await runCommand(workbench, "Juggler: Show the Conversations of This Workspace");
    await waitUntil("This Workspace", async () => ((await description.textContent()) ?? "").includes("This Workspace"));
    await row(LONG_TITLE).waitFor({ timeout: 30_000 });
    await rows().filter({ hasText: "Kubernetes notes" }).waitFor({ state: "detached", timeout: 30_000 });
    await runCommand(workbench, "Juggler: Show All Conversations");
    await row("Kubernetes notes").waitFor({ timeout: 30_000 });

    await chooseFromContextMenuUntil(workbench, row("Team lunch ideas"), "Pin Conversation", {
      description: "Team lunch ideas pinned",
      isDone: async () => (await onServer(seeded.lunch!)).conversation.isPinned === true,
    });
    await row("Pinned").waitFor({ timeout: 30_000 });
    const order = await rows().allInnerTexts();
    assert.ok(
      order.indexOf("Pinned") < order.indexOf("Team lunch ideas") && order.indexOf("Team lunch ideas") < order.indexOf(LONG_TITLE),
      order.join(" | "),
    );

    await chooseFromContextMenuUntil(workbench, row("Kubernetes notes"), "Archive Conversation", {
      description: "Kubernetes notes archived",
      isDone: async () => (await onServer(seeded.kubernetes!)).conversation.isArchived === true,
    });
    await rows().filter({ hasText: "Kubernetes notes" }).waitFor({ state: "detached", timeout: 30_000 });
    // the group moves as the archived row leaves the list: a click on it while it moves can miss
    for (let attempt = 1; ; attempt += 1) {
      await row("Archived").click();
      try {
        await row("Kubernetes notes").waitFor({ timeout: 5_000 });
        break;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    await row("Old archived thing").waitFor({ timeout: 30_000 });
    await chooseFromContextMenuUntil(workbench, row("Kubernetes notes"), "Unarchive Conversation", {
      description: "Kubernetes notes out of the archive",
      isDone: async () => (await onServer(seeded.kubernetes!)).conversation.isArchived === false,
    });

    await chooseFromContextMenuUntil(workbench, row("Team lunch ideas"), "Move Conversation to This Workspace", {
      description: "the move",
      isDone: async () => (await onServer(seeded.lunch!)).conversation.workspaceHint === workspaceUri,
    });
    await runCommand(workbench, "Juggler: Show the Conversations of This Workspace");
    await row("Team lunch ideas").waitFor({ timeout: 30_000 });
    await row(LONG_TITLE).waitFor({ timeout: 30_000 });
    await screenshot(workbench, screenshotPath("conversation-library.png"));
    await runCommand(workbench, "Juggler: Show All Conversations");

    await runCommand(workbench, "Juggler: Filter Conversations…");
    await answerInputBox(workbench, "Show the conversations whose title contains", "postgres");
    await waitUntil("the filter in the description", async () => ((await description.textContent()) ?? "").includes("postgres"));
    await rows().filter({ hasText: "Team lunch ideas" }).waitFor({ state: "detached", timeout: 30_000 });
    await row(LONG_TITLE).waitFor({ timeout: 30_000 });
    await runCommand(workbench, "Juggler: Clear Conversation Filter");
    await row("Team lunch ideas").waitFor({ timeout: 30_000 });
  });

  it("exports a conversation as Markdown and as Juggler JSON, and imports a ChatGPT export", async () => {
    const workbench = page!;
    await chooseFromContextMenu(workbench, row(LONG_TITLE), "Export Conversation…");
    await pickQuickPickRow(workbench, "the current branch, opened in an editor");
    const editorLines = workbench.locator(".editor-instance .monaco-editor .view-lines").first();
    // the editor draws spaces as no-break spaces
    await waitUntil("the Markdown in an editor", async () =>
      ((await editorLines.innerText()) ?? "").replace(/\u00a0/g, " ").includes(`# ${LONG_TITLE}`),
    );
    await runCommand(workbench, "View: Revert and Close Editor");

    const exported = path.join(tempDir, "exports", "postgres.juggler.json");
    fs.mkdirSync(path.dirname(exported), { recursive: true });
    await chooseFromContextMenu(workbench, row(LONG_TITLE), "Export Conversation…");
    await pickQuickPickRow(workbench, "Juggler JSON");
    await answerFileDialog(workbench, "Export Conversation as Juggler JSON", exported);
    await waitUntil("the exported file", async () => fs.existsSync(exported));
    const file = JSON.parse(fs.readFileSync(exported, "utf8"));
    assert.equal(file.format, "juggler-export");
    assert.equal(file.conversations[0].title, LONG_TITLE);
    assert.equal(file.conversations[0].messages.length, LONG_MESSAGES + 2, "every branch");

    const chatGpt = path.join(tempDir, "chatgpt", "conversations.json");
    fs.mkdirSync(path.dirname(chatGpt), { recursive: true });
    fs.writeFileSync(chatGpt, JSON.stringify(CHATGPT_EXPORT));
    await runCommand(workbench, "Juggler: Import Conversations…");
    await answerFileDialog(workbench, "Import Conversations", chatGpt);
    const notice = workbench.locator(".notifications-toasts .notification-list-item", {
      hasText: "Imported 2 conversations (9 messages) from ChatGPT",
    });
    await notice.waitFor({ timeout: 60_000 });
    assert.match(await notice.innerText(), /Left out: .*2 system messages/);
    await row("Regex for ISO dates").waitFor({ timeout: 30_000 });
  });

  it("deletes with Undo: the conversation comes back; deleted again, it is gone after a few seconds", async () => {
    const workbench = page!;
    const title = "Regex for ISO dates";
    const listed = (await team!.server.request("GET", "/conversations?limit=200", { token })).body.conversations as Array<{
      id: string;
      title: string;
    }>;
    const conversationId = listed.find((conversation) => conversation.title === title)!.id;
    // The import's notices may still fill the toast area; the Undo toast must be the one shown.
    await clearNotifications(workbench);

    await chooseFromContextMenu(workbench, row(title), "Delete Conversation");
    await rows().filter({ hasText: title }).waitFor({ state: "detached", timeout: 15_000 });
    const notice = workbench.locator(".notifications-toasts .notification-list-item", { hasText: `Deleted “${title}”` }).first();
    await notice.waitFor({ timeout: 15_000 });
    await notice.locator(".monaco-button", { hasText: "Undo" }).click();
    await row(title).waitFor({ timeout: 15_000 });
    assert.equal((await team!.server.request("GET", `/conversations/${conversationId}`, { token })).status, 200);

    await chooseFromContextMenu(workbench, row(title), "Delete Conversation");
    await rows().filter({ hasText: title }).waitFor({ state: "detached", timeout: 15_000 });
    await waitUntil(
      "the delete to reach the server once Undo is over",
      async () => (await team!.server.request("GET", `/conversations/${conversationId}`, { token })).status === 404,
      20_000,
    );
  });

  /**
   * VS Code's own file dialog (the web workbench has no native one): the path typed whole, then Enter.
   * The dialog reuses the quick input of the pick before it, so it is known by its title: typing into
   * the pick while it closes would leave the dialog on its default path.
   */
  async function answerFileDialog(workbench: Page, title: string, filePath: string): Promise<void> {
    await workbench
      .locator(".quick-input-widget .quick-input-title", { hasText: title })
      .first()
      .waitFor({ state: "visible", timeout: 15_000 });
    const input = workbench.locator(".quick-input-widget input").first();
    await input.waitFor({ state: "visible", timeout: 15_000 });
    // Once open, the dialog fills in its own starting path when it has read that folder, which
    // would replace a path typed before: wait for it to settle (the same value twice, 300 ms apart).
    let shown = "";
    await waitUntil("the dialog to show its starting path", async () => {
      const now = await input.inputValue();
      const isSettled = now !== "" && now === shown;
      shown = now;
      if (!isSettled) await new Promise((resolve) => setTimeout(resolve, 300));
      return isSettled;
    });
    await waitUntil("the dialog to take the path", async () => {
      if ((await input.inputValue()) !== filePath) await input.fill(filePath);
      return (await input.inputValue()) === filePath;
    });
    // Enter on a path in another folder first takes the dialog into that folder (it stays open with
    // the path, listing the folder); the next Enter saves or opens.
    const widget = workbench.locator(".quick-input-widget").first();
    for (let attempt = 1; ; attempt += 1) {
      await input.press("Enter");
      try {
        await widget.waitFor({ state: "hidden", timeout: 3_000 });
        return;
      } catch (error) {
        if (attempt === 4 || (await input.inputValue()) !== filePath) throw error;
      }
    }
  }
});
