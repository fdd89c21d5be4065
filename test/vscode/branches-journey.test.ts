/**
 * Branches, rerun, compare, presets and editor context in a real VS Code (code-server), driven with
 * Playwright like a person would, against the real team server and the fake providers in `echo` mode
 * (every answer states the model, the system prompt and the messages it received). The extension is
 * installed from the `.vsix`.
 *
 * Steps (each an `it`, in order; after a failed step the rest are skipped): sign in → edit a question
 * into a branch and go back and forth with ‹ 1/2 › → rerun an answer on another model → compare two
 * models and continue with one → start a conversation from a team preset → `@` a file and an image
 * file, paste an image → open them from the question → Show Context lists the system prompt, the file and the images.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { parseEchoText } from "../../tools/fake-providers";
import { ADMIN_NAME, ADMIN_PASSWORD, startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";
import type { CodeServer } from "../../tools/vscode-host/code-server-process";
import { followJourney } from "../../tools/vscode-host/journey-lifecycle";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import {
  chatParts,
  findWebview,
  pickQuickPickRow,
  sendChatMessage,
  waitForQuickInput,
  waitUntil,
  signInWithCommand,
} from "../../tools/vscode-host/juggler-workbench";
import { runCommand, screenshot, statusBarItem } from "../../tools/vscode-host/workbench-driver";
import { screenshotPath } from "../support/screenshot-path";
import { TINY_PNG_BASE64 } from "../support/tiny-png";
import { prepareJourneyMachine } from "./support/journey-machine";

const FAILURE_SCREENSHOT = path.join(REPO_ROOT, "test-results", "branches-journey-failure.png");
const GROQ_MODEL_ID = "groq:llama-3.3-70b-versatile";
/** The fake Ollama's model that sees images. */
const VISION_MODEL_ID = "ollama:gemma3:latest";
const ANTHROPIC_MODEL_ID = "anthropic:claude-sonnet-5-5";
const PRESET = { name: "Terse reviewer", systemPrompt: "You review code tersely, in one paragraph." };

interface ServerMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  modelId: string | null;
  status: string;
}

describe("vscode: branches, rerun, compare, presets and editor context in code-server", function () {
  this.timeout(6 * 60_000);

  let team: TeamEnvironment | undefined;
  let codeServer: CodeServer | undefined;
  let page: Page | undefined;
  let tempDir: string;
  let token: string;
  /** Display names as the pickers, the status bar and the answers show them. */
  const labels: Record<string, string> = {};
  const journey = { conversationId: "", firstQuestion: "Which data structure keeps insertion order?", editedQuestion: "" };

  before(async function () {
    this.timeout(10 * 60_000);
    const machine = await prepareJourneyMachine("juggler-branches-journey-");
    tempDir = machine.tempDir;
    const { workspace } = machine;
    // an image in the workspace, for `@` (and "Add File to Chat") to attach as an image
    fs.writeFileSync(path.join(workspace, "diagram.png"), Buffer.from(TINY_PNG_BASE64, "base64"));
    // what .gitignore files (the root's and a nested one) keep out of the @ picker
    fs.writeFileSync(path.join(workspace, ".gitignore"), "*.secret\n");
    fs.writeFileSync(path.join(workspace, "keys.secret"), "API_KEY=1\n");
    fs.mkdirSync(path.join(workspace, "src", "nested"), { recursive: true });
    fs.writeFileSync(path.join(workspace, "src", "nested", ".gitignore"), "hidden.ts\n");
    fs.writeFileSync(path.join(workspace, "src", "nested", "hidden.ts"), "export const hidden = true;\n");
    fs.writeFileSync(path.join(workspace, "src", "nested", "shown.ts"), "export const shown = true;\n");
    team = await startTeamEnvironment({ withAdmin: true });
    token = team.admin!.accessToken;
    const listed = (await team.server.request("GET", "/models", { token })).body.models as Array<{ id: string; displayName: string }>;
    for (const model of listed) labels[model.id] = model.displayName;
    for (const id of [GROQ_MODEL_ID, VISION_MODEL_ID, ANTHROPIC_MODEL_ID]) assert.ok(labels[id], `${id} is offered`);
    // what an admin does in Team Settings' Presets section
    const preset = await team.server.request("POST", "/admin/presets", { token, body: { ...PRESET, modelId: VISION_MODEL_ID } });
    assert.equal(preset.status, 201, JSON.stringify(preset.body));
    codeServer = await machine.startCodeServer(team.server.url);
    page = await machine.openWorkbench(codeServer);
  });

  followJourney(FAILURE_SCREENSHOT, () => ({ page, codeServer, team, tempDir }));

  const chat = () => findWebview(page!, ".chat-app", { isInEditorArea: false });
  const conversationOnServer = async (conversationId: string) => {
    const response = await team!.server.request("GET", `/conversations/${conversationId}`, { token });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body as { conversation: { id: string; modelId: string | null }; messages: ServerMessage[] };
  };
  const newestConversationId = async () =>
    ((await team!.server.request("GET", "/conversations?limit=1", { token })).body.conversations[0] as { id: string }).id;
  const echoOf = (message: ServerMessage) => parseEchoText(message.content);
  const answerFrom = (view: FrameLocator, modelId: string) =>
    chatParts(view).completeAnswers.filter({ hasText: `ECHO model=${modelId.slice(modelId.indexOf(":") + 1)} ` });

  it("signs in to the team server", async () => {
    await signInWithCommand(page!, { serverUrl: team!.server.url, name: ADMIN_NAME, password: ADMIN_PASSWORD }, 640);
  });

  it("edits a question into a sibling branch, then goes back and forth with the navigator", async () => {
    const view = await chat();
    const parts = chatParts(view);
    await sendChatMessage(view, journey.firstQuestion);
    await parts.completeAnswers.filter({ hasText: journey.firstQuestion }).waitFor({ timeout: 60_000 });
    journey.conversationId = await newestConversationId();

    const question = parts.userMessages.first();
    await question.locator(".message__edit").click();
    journey.editedQuestion = "Which data structure keeps insertion order and sorts by key?";
    await question.locator("textarea.message__editor-input").fill(journey.editedQuestion);
    await question.locator(".message__editor-send").click();
    await parts.completeAnswers.filter({ hasText: journey.editedQuestion }).waitFor({ timeout: 60_000 });
    const navigator = parts.userMessages.first().locator(".message__siblings");
    await waitUntil(
      "‹ 2/2 › on the edited question",
      async () => (await navigator.locator(".message__sibling-position").textContent()) === "2/2",
    );
    assert.equal(await parts.messages.count(), 2, "only the branch in view");

    await navigator.locator(".message__sibling-previous").click();
    await parts.completeAnswers.filter({ hasText: journey.firstQuestion }).waitFor({ timeout: 30_000 });
    await waitUntil("‹ 1/2 ›", async () => (await navigator.locator(".message__sibling-position").textContent()) === "1/2");
    assert.equal(await parts.completeAnswers.filter({ hasText: journey.editedQuestion }).count(), 0, "the other branch is not shown");
    // the server remembers the branch in view: a reload opens it
    const shown = await conversationOnServer(journey.conversationId);
    assert.deepEqual(
      shown.messages.map((message) => message.role),
      ["user", "assistant"],
    );
    assert.equal(shown.messages[0]!.content, journey.firstQuestion);

    await navigator.locator(".message__sibling-next").click();
    await parts.completeAnswers.filter({ hasText: journey.editedQuestion }).waitFor({ timeout: 30_000 });
    await waitUntil(
      "the server to hold the edited branch again",
      async () => (await conversationOnServer(journey.conversationId)).messages[0]!.content === journey.editedQuestion,
    );
  });

  it("reruns an answer on another model: a sibling answer, and the chat and status bar show that model", async () => {
    const workbench = page!;
    const view = await chat();
    const parts = chatParts(view);
    const before = await conversationOnServer(journey.conversationId);
    const firstModel = before.messages[1]!.modelId!;
    const otherModel = firstModel === GROQ_MODEL_ID ? ANTHROPIC_MODEL_ID : GROQ_MODEL_ID;
    await parts.completeAnswers.last().locator(".message__rerun-with").click();
    await waitForQuickInput(workbench, "Rerun with…");
    await pickQuickPickRow(workbench, labels[otherModel]!);
    const rerun = answerFrom(view, otherModel);
    await rerun.waitFor({ timeout: 60_000 });
    assert.equal(await rerun.locator(".message__siblings .message__sibling-position").textContent(), "2/2");
    await statusBarItem(workbench, labels[otherModel]!).waitFor({ state: "visible", timeout: 15_000 });
    const after = await conversationOnServer(journey.conversationId);
    assert.equal(after.conversation.modelId, otherModel, "the conversation goes on with the model of the branch in view");
    // the other model received the same question
    assert.deepEqual(echoOf(after.messages[1]!).messages, [{ role: "user", text: journey.editedQuestion }]);
  });

  it("compares two models side by side and continues with the second", async () => {
    const workbench = page!;
    const view = await chat();
    const parts = chatParts(view);
    const question = "Which sort is stable?";
    await parts.composer.click();
    await parts.composer.fill(question);
    await view.locator(".composer__compare").click();
    const picker = await waitForQuickInput(workbench, "Compare Models");
    const filter = picker.locator("input").first();
    for (const modelId of [GROQ_MODEL_ID, VISION_MODEL_ID]) {
      // the list is long and drawn only in part: filter it to the model, tick it, clear the filter
      await filter.fill(labels[modelId]!);
      const row = picker.locator(".quick-input-list .monaco-list-row", { hasText: labels[modelId]! }).first();
      await row.waitFor({ timeout: 15_000 });
      await row.locator(".quick-input-list-checkbox, input[type=checkbox], .monaco-checkbox").first().click();
      await filter.fill("");
    }
    await waitUntil("two models ticked", async () => (await picker.locator(".quick-input-count").innerText()).includes("2"));
    await filter.press("Enter");
    const columns = view.locator(".compare__answer");
    await waitUntil("two answers side by side, both complete", async () => {
      if ((await columns.count()) !== 2) return false;
      const texts = await columns.allInnerTexts();
      return texts.every((text) => text.includes(`user: "${question}"`));
    });
    const metadata = await view.locator(".compare__model").allInnerTexts();
    assert.ok(metadata[0]!.includes(labels[GROQ_MODEL_ID]!) && metadata[1]!.includes(labels[VISION_MODEL_ID]!), metadata.join(" | "));
    // tokens, cost (when priced), time to first token, speed and duration, each
    for (const line of await view.locator(".compare__metadata").allInnerTexts())
      assert.match(line, /^\d+ → \d+ tokens( · \$[\d.]+)? · \d+ ms to first token( · [\d,]+ tokens\/s)? · \d+ ms in all$/, line);
    const boxes = await Promise.all([columns.nth(0).boundingBox(), columns.nth(1).boundingBox()]);
    assert.ok(boxes[0] && boxes[1] && boxes[1].x > boxes[0].x, "side by side in a wide sidebar");
    await screenshot(workbench, screenshotPath("compare-models.png"));

    // each model got the same context: the same messages, by the echo
    const stored = await Promise.all(
      (
        await view
          .locator(".compare__answer")
          .evaluateAll((elements) => elements.map((element) => (element as HTMLElement).dataset.messageId!))
      ).map(async (id) => (await team!.server.request("GET", `/messages/${id}`, { token })).body.message as ServerMessage),
    );
    assert.deepEqual(echoOf(stored[0]!).messages, echoOf(stored[1]!).messages);

    await columns.nth(1).locator(".compare__continue").click();
    await waitUntil(
      "the conversation to go on with the second model",
      async () => (await conversationOnServer(journey.conversationId)).conversation.modelId === VISION_MODEL_ID,
    );
    await statusBarItem(workbench, labels[VISION_MODEL_ID]!).waitFor({ state: "visible", timeout: 15_000 });
    const shown = await conversationOnServer(journey.conversationId);
    assert.equal(shown.messages.at(-1)!.id, stored[1]!.id, "the chosen answer is the branch in view");
    await parts.completeAnswers
      .filter({ hasText: `user: "${question}"` })
      .first()
      .waitFor({ timeout: 15_000 });
  });

  it("starts a conversation from a team preset: its model answers with its system prompt", async () => {
    const workbench = page!;
    await runCommand(workbench, "Juggler: New Conversation from Preset…");
    await waitForQuickInput(workbench, "New Conversation from Preset");
    await pickQuickPickRow(workbench, PRESET.name);
    const view = await chat();
    const parts = chatParts(view);
    await waitUntil("an empty conversation", async () => (await parts.messages.count()) === 0);
    await sendChatMessage(view, "Is this loop correct?");
    const answer = answerFrom(view, VISION_MODEL_ID);
    await answer.waitFor({ timeout: 60_000 });
    journey.conversationId = await newestConversationId();
    const stored = await conversationOnServer(journey.conversationId);
    assert.equal(echoOf(stored.messages[1]!).system, PRESET.systemPrompt);
  });

  it("adds a workspace file and an image file with @ (never a .gitignored one) and pastes an image: chips with their size, stored with the question, the images sent to a vision model", async () => {
    const workbench = page!;
    const view = await chat();
    const parts = chatParts(view);
    await parts.composer.click();
    // the picker leaves out what the root and the nested .gitignore ignore
    await parts.composer.pressSequentially("@nested/", { delay: 30 });
    await view.locator(".file-picker__option", { hasText: "shown.ts" }).first().waitFor({ timeout: 30_000 });
    const nestedOptions = await view.locator(".file-picker__option").allInnerTexts();
    assert.ok(!nestedOptions.some((text) => text.includes("hidden.ts")), nestedOptions.join(" | "));
    for (let typed = 0; typed < "@nested/".length; typed++) await parts.composer.press("Backspace");
    await parts.composer.pressSequentially("@keys.sec", { delay: 30 });
    await view.locator(".file-picker__empty").waitFor({ timeout: 30_000 });
    for (let typed = 0; typed < "@keys.sec".length; typed++) await parts.composer.press("Backspace");
    await parts.composer.pressSequentially("Explain @greet", { delay: 30 });
    const option = view.locator(".file-picker__option", { hasText: "greeting.ts" }).first();
    await option.waitFor({ timeout: 30_000 });
    await parts.composer.press("Enter");
    const fileChip = view.locator(".context-chip", { hasText: "greeting.ts" });
    await fileChip.waitFor({ timeout: 15_000 });
    assert.match((await fileChip.locator(".context-chip__size").textContent()) ?? "", /^\d+ tokens?$/);
    // an image file of the workspace, attached with @ too: an image chip
    await parts.composer.pressSequentially("@diagr", { delay: 30 });
    await view.locator(".file-picker__option", { hasText: "diagram.png" }).first().waitFor({ timeout: 30_000 });
    await parts.composer.press("Enter");
    const imageChip = view.locator(".context-chip", { hasText: "diagram.png" });
    await imageChip.waitFor({ timeout: 15_000 });
    assert.equal(await imageChip.locator(".context-chip__size").textContent(), "1.6K tokens");

    await view.locator("vscode-textarea").evaluate((element, base64) => {
      const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], "screenshot.png", { type: "image/png" }));
      const target = element.shadowRoot?.querySelector("textarea") ?? element.querySelector("textarea")!;
      target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, composed: true }));
    }, TINY_PNG_BASE64);
    await view.locator(".context-chip", { hasText: "screenshot.png" }).waitFor({ timeout: 15_000 });
    await screenshot(workbench, screenshotPath("composer-context.png"));

    const ollamaCallsBefore = team!.fakes.ollama.requests.filter((request) => request.method === "POST").length;
    await parts.composer.press("End");
    await parts.composer.pressSequentially(" and this diagram", { delay: 10 });
    await parts.composer.press("Enter");
    await waitUntil("the answer", async () => (await parts.completeAnswers.count()) === 2, 60_000);
    const sent = parts.userMessages.last();
    assert.deepEqual(
      (await sent.locator(".message__attachment").allInnerTexts()).map((text) => text.trim().split(/\s/)[0]),
      ["src/greeting.ts", "diagram.png", "screenshot.png"],
    );
    // what the vision model received: the file's text after the question, and the image in Ollama's form
    const calls = team!.fakes.ollama.requests.filter((request) => request.method === "POST");
    assert.equal(calls.length, ollamaCallsBefore + 1);
    const body = calls.at(-1)!.body as { messages: Array<{ role: string; content: string; images?: string[] }> };
    const last = body.messages.at(-1)!;
    assert.ok(last.content.includes("export function greet"), last.content);
    assert.deepEqual(last.images, [TINY_PNG_BASE64, TINY_PNG_BASE64]);
  });

  it("opens what was sent from the question: the image in VS Code's image preview, the file as text, read-only", async () => {
    const workbench = page!;
    const view = await chat();
    const sent = chatParts(view).userMessages.last();
    await sent.locator(".message__attachment", { hasText: "diagram.png" }).click();
    await workbench.locator(".tab", { hasText: "diagram.png" }).waitFor({ timeout: 30_000 });
    const preview = await findWebview(workbench, "img", { isInEditorArea: true });
    await waitUntil(
      "the image drawn at its size",
      async () =>
        (await preview
          .locator("img")
          .first()
          .evaluate((image) => (image as HTMLImageElement).naturalWidth)) > 0,
    );
    await runCommand(workbench, "View: Close All Editors");

    await sent.locator(".message__attachment", { hasText: "src/greeting.ts" }).click();
    await workbench.locator(".tab", { hasText: "greeting.ts" }).waitFor({ timeout: 30_000 });
    const editorLines = workbench.locator(".editor-instance .monaco-editor .view-lines").first();
    await waitUntil("the file's text", async () =>
      ((await editorLines.innerText()) ?? "").replace(/\u00a0/g, " ").includes("export function greet(name: string)"),
    );
    // read-only: typing changes nothing
    await editorLines.click();
    await workbench.keyboard.press("Control+Home");
    await workbench.keyboard.type("typed ");
    const shown = async () => ((await editorLines.innerText()) ?? "").replace(/\u00a0/g, " ");
    await waitUntil("the first line again", async () => (await shown()).includes("A tiny module"));
    assert.ok(!(await shown()).includes("typed"), "the attachment cannot be edited");
    await runCommand(workbench, "View: Close All Editors");
  });

  it("Show Context lists the system prompt, the file and the image the answer saw", async () => {
    const workbench = page!;
    await runCommand(workbench, "Juggler: Show Context of Last Answer");
    const editorLines = workbench.locator(".editor-instance .monaco-editor .view-lines").first();
    // the editor draws spaces as no-break spaces
    const shownText = async () => ((await editorLines.innerText()) ?? "").replace(/\u00a0/g, " ");
    await waitUntil("the context document", async () => (await shownText()).includes("# Context of an answer"));
    await editorLines.click();
    // the editor draws only the lines in view: read it page by page
    const seen = new Set<string>();
    for (let pageDown = 0; pageDown < 30; pageDown++) {
      for (const line of (await shownText()).split("\n")) seen.add(line);
      await workbench.keyboard.press("PageDown");
    }
    const text = [...seen].join("\n");
    assert.ok(text.includes("## System prompt"), text);
    assert.ok(text.includes(PRESET.systemPrompt), text);
    assert.ok(text.includes("src/greeting.ts"), text);
    assert.ok(text.includes("[Image: diagram.png (image/png"), text);
    assert.ok(text.includes("[Image: screenshot.png (image/png"), text);
    await screenshot(workbench, screenshotPath("show-context-attachments.png"));
    await runCommand(workbench, "View: Close All Editors");
  });
});
