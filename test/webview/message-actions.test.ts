import assert from "node:assert/strict";
import { findButtonsWithoutLabel } from "./support/accessibility";
import { buildMessage, buildSnapshot } from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";

/** Regenerate, Rerun with…, Edit and the sibling navigator (‹ 2/3 ›) on the messages of the chat. */
describe("chat webview: message actions and branches", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

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

  it("compares: Compare… posts message/compare, the answers stream side by side, Continue with this one posts compare/continue", async () => {
    view = await harness.open({ view: "chat" });
    const question = buildMessage({ id: "q", role: "user", content: "Which sort is stable?" });
    await view.notify("state/snapshot", buildSnapshot({ messages: [] }));
    const page = view.page;
    await page.locator("vscode-textarea textarea").fill("Which sort is stable?");
    await page.locator(".composer__compare").click();
    const compare = await view.waitForRequest("message/compare");
    assert.deepEqual(compare.params, { content: "Which sort is stable?" });
    const streaming = (id: string, modelId: string) =>
      buildMessage({
        id,
        parentId: "q",
        modelId,
        provider: modelId.split(":")[0] as "groq",
        status: "streaming",
        content: "",
        finishReason: null,
      });
    const first = streaming("a-groq", "groq:llama-3.3-70b-versatile");
    const second = streaming("a-ollama", "ollama:qwen2.5-coder:7b");
    await view.notify("messages/appended", { conversationId: "conversation-1", messages: [question, first] });
    await view.notify("compare/shown", { compare: { questionId: "q", messages: [first, second] } });
    await view.respond(compare.id, { conversationId: "conversation-1", assistantMessageIds: ["a-groq", "a-ollama"] });
    await page.waitForFunction(() => (document.querySelector("vscode-textarea") as HTMLElement & { value: string }).value === "");
    await page.locator(".compare__answer").nth(1).waitFor();
    assert.equal(await page.locator(".compare__answer").count(), 2);
    await view.notify("stream/delta", { messageId: "a-ollama", text: "Merge sort is stable." });
    await view.notify("stream/delta", { messageId: "a-groq", text: "Insertion sort is." });
    // each answer's deltas are drawn on their own: wait for both before reading them
    await page.waitForFunction(
      () =>
        document.querySelector('[data-message-id="a-ollama"].compare__answer .compare__body')?.textContent?.includes("Merge sort") &&
        document.querySelector('[data-message-id="a-groq"].compare__answer .compare__body')?.textContent?.includes("Insertion sort"),
    );
    assert.match(
      (await page.locator('.compare__answer[data-message-id="a-groq"] .compare__body').textContent()) ?? "",
      /Insertion sort is\./,
    );
    assert.equal(
      await page.locator('.compare__answer[data-message-id="a-ollama"] .compare__continue').isDisabled(),
      true,
      "not while streaming",
    );
    await view.notify("message/updated", {
      message: {
        ...second,
        status: "complete",
        content: "Merge sort is stable.",
        outputTokens: 42,
        timeToFirstTokenMs: 180,
        durationMs: 900,
        finishReason: "stop",
      },
    });
    await page.waitForFunction(
      () => document.querySelector('.compare__answer[data-message-id="a-ollama"] .compare__metadata')?.textContent !== "",
    );
    const metadata = (await page.locator('.compare__answer[data-message-id="a-ollama"] .compare__metadata').textContent()) ?? "";
    assert.match(metadata, /42/);
    assert.match(metadata, /to first token/);
    assert.match(metadata, /in all/);
    // the answer that was not on the branch in view did not replace the first one in the list
    assert.deepEqual(
      await page
        .locator("article.message")
        .evaluateAll((elements) => elements.map((element) => (element as HTMLElement).dataset.messageId)),
      ["q", "a-groq"],
    );
    await page.locator('.compare__answer[data-message-id="a-ollama"] .compare__continue').click();
    const chosen = await view.waitForRequest("compare/continue");
    assert.deepEqual(chosen.params, { messageId: "a-ollama" });
    assert.deepEqual(await findButtonsWithoutLabel(page), []);
    // narrow: the answers stack
    await page.setViewportSize({ width: 320, height: 700 });
    const boxes = await page
      .locator(".compare__answer")
      .evaluateAll((elements) => elements.map((element) => element.getBoundingClientRect().top));
    assert.ok(boxes[1]! > boxes[0]!, "stacked in a narrow view");
  });
});
