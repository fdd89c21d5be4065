import assert from "node:assert/strict";
import { findButtonsWithoutLabel } from "./support/accessibility";
import { buildMessage, buildSnapshot } from "../../tools/webview-harness/chat-fixtures";
import { closeCheckingHealth, type HarnessPage, WebviewHarness } from "../../tools/webview-harness/webview-harness";

/** Regenerate, Rerun with…, Edit and the sibling navigator (‹ 2/3 ›) on the messages of the chat. */
describe("chat webview: message actions and branches", function () {
  this.timeout(60_000);
  let harness: WebviewHarness;
  let view: HarnessPage;

  before(async function () {
    this.timeout(120_000);
    harness = await WebviewHarness.start();
  });
  after(async () => {
    await harness?.close();
  });
  afterEach(async function () {
    if (view) await closeCheckingHealth(view, this.currentTest?.state === "passed");
  });

  const branch = [
    buildMessage({ id: "q1", role: "user", content: "First question", siblings: { position: 2, count: 2 } }),
    buildMessage({ id: "a1", parentId: "q1", content: "First answer", siblings: { position: 1, count: 1 } }),
    buildMessage({ id: "q2", role: "user", parentId: "a1", content: "Second question" }),
    buildMessage({
      id: "a2",
      parentId: "q2",
      status: "stopped",
      content: "Stopped answer",
      modelId: "groq:llama-3.3-70b-versatile",
      provider: "groq",
      siblings: { position: 2, count: 3 },
    }),
  ];

  async function open() {
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages: branch }));
    await view.nextFrames();
  }

  it("offers Regenerate and Rerun with… on every finished answer, stopped ones too", async () => {
    await open();
    const page = view.page;
    for (const id of ["a1", "a2"]) {
      assert.equal(await page.locator(`[data-message-id="${id}"] .message__regenerate`).count(), 1, id);
      assert.equal(await page.locator(`[data-message-id="${id}"] .message__rerun-with`).count(), 1, id);
    }
    await page.locator('[data-message-id="a2"] .message__regenerate').click();
    const regenerate = await view.waitForRequest("message/retry");
    assert.deepEqual(regenerate.params, { messageId: "a2" });
    await view.respond(regenerate.id, { assistantMessageId: "a2-new" });

    await page.locator('[data-message-id="a1"] .message__rerun-with').focus();
    await page.keyboard.press("Enter");
    const rerun = await view.waitForRequest("message/rerunWith");
    assert.deepEqual(rerun.params, { messageId: "a1" });
    await view.respondError(rerun.id, { code: "model_unavailable", message: "That model is no longer available." });
    await page.locator('[data-message-id="a1"] .message__retry-error').waitFor();
    // a streaming answer has no actions yet
    await view.notify("messages/appended", {
      conversationId: "conversation-1",
      messages: [buildMessage({ id: "a2-new", parentId: "q2", status: "streaming", content: "", finishReason: null })],
    });
    await view.nextFrames();
    assert.equal(await page.locator('[data-message-id="a2-new"] .message__regenerate').count(), 0);
  });

  it("shows ‹ 2/3 › where a message has siblings, announces it, and switches with branch/switch", async () => {
    await open();
    const page = view.page;
    const navigator = page.locator('[data-message-id="a2"] .message__siblings');
    assert.equal((await navigator.locator(".message__sibling-position").textContent())?.trim(), "2/3");
    assert.equal(await navigator.getAttribute("aria-label"), "Answer 2 of 3");
    assert.equal(await page.locator('[data-message-id="a2"]').getAttribute("aria-label"), "Answer from llama-3.3-70b-versatile, 2 of 3");
    assert.equal(await page.locator('[data-message-id="a1"] .message__siblings').count(), 0, "a single answer has no navigator");
    const questionNavigator = page.locator('[data-message-id="q1"] .message__siblings');
    assert.equal((await questionNavigator.locator(".message__sibling-position").textContent())?.trim(), "2/2");
    assert.equal(await questionNavigator.locator(".message__sibling-next").isDisabled(), true, "the last version has no next");

    await navigator.locator(".message__sibling-next").click();
    const next = await view.waitForRequest("branch/switch");
    assert.deepEqual(next.params, { messageId: "a2", direction: "next" });
    // the host answers with a snapshot of the new branch, then the request's result
    const switched = [
      ...branch.slice(0, 3),
      buildMessage({ id: "a2-third", parentId: "q2", content: "Third answer", siblings: { position: 3, count: 3 } }),
    ];
    await view.notify("state/snapshot", buildSnapshot({ messages: switched }));
    await view.respond(next.id, { messageId: "a2-third" });
    await page.locator('[data-message-id="a2-third"]').waitFor();
    await page.waitForFunction(() => document.querySelector(".live-region")?.textContent === "Showing 3 of 3");

    await questionNavigator.locator(".message__sibling-previous").click();
    const previous = await view.waitForRequest("branch/switch");
    assert.deepEqual(previous.params, { messageId: "q1", direction: "previous" });
    assert.deepEqual(await findButtonsWithoutLabel(page), []);
  });

  it("edits a question in place: Ctrl+Enter sends message/edit, Escape cancels without stopping anything, a failure keeps the editor", async () => {
    await open();
    const page = view.page;
    const question = page.locator('[data-message-id="q2"]');
    await question.locator(".message__edit").click();
    const input = question.locator("textarea.message__editor-input");
    assert.equal(await input.inputValue(), "Second question");
    assert.equal(await input.evaluate((element) => element === document.activeElement), true, "the editor takes the focus");
    await page.keyboard.press("Escape");
    assert.equal(await question.locator(".message__editor").count(), 0);
    assert.equal((await question.locator(".message__body").textContent())?.trim(), "Second question");

    await question.locator(".message__edit").click();
    await input.fill("Second question, sharper");
    await page.keyboard.press("Control+Enter");
    const edit = await view.waitForRequest("message/edit");
    assert.deepEqual(edit.params, { messageId: "q2", content: "Second question, sharper" });
    await view.respondError(edit.id, { code: "conflict", message: "An answer in this conversation is still being generated." });
    await question.locator(".message__editor-error").waitFor();
    assert.equal(
      await question.locator(".message__editor-error").textContent(),
      "Not sent: An answer in this conversation is still being generated.",
    );
    assert.equal(await input.inputValue(), "Second question, sharper", "the edited text is kept");

    await question.locator(".message__editor-send").click();
    const again = await view.waitForRequest("message/edit");
    await view.respond(again.id, { conversationId: "conversation-1", assistantMessageId: "a-edit" });
    await question.locator(".message__editor").waitFor({ state: "detached" });
  });
});
