import assert from "node:assert/strict";
import type { Message } from "../../protocol/http/conversations";
import type { ChatViewState } from "../../protocol/webview/chat-protocol";
import {
  buildContextRecord,
  buildConversation,
  buildMessage,
  buildPagedSnapshot,
  buildSnapshot,
  variedAnswer,
} from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";

/** 5,000 questions and answers: a 10,000-message branch. */
const PAIRS = 5_000;
const PAGE_SIZE = 50;
/**
 * Elements under the list, wherever the reader is: what the rendered window and its margins hold
 * (a few dozen messages at most, code blocks included). All 10,000 messages would be ~200,000.
 */
const MAX_LIST_ELEMENTS = 400;

describe("chat webview with a 10,000-message conversation", function () {
  this.timeout(120_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;
  const branch = buildConversation(PAIRS, variedAnswer);

  /** Opens the view with the newest page of `messages`; the stub host serves the older pages unless told not to. */
  async function openPaged(messages: readonly Message[] = branch, options: { savedState?: unknown; isServingPages?: boolean } = {}) {
    view = await harness.open({ view: "chat", savedState: options.savedState });
    if (options.isServingPages ?? true) await view.serveOlderPages(messages, { pageSize: PAGE_SIZE });
    await view.notify("state/snapshot", buildPagedSnapshot(messages, PAGE_SIZE));
    await view.nextFrames(3);
    return view;
  }

  function listElementCount(): Promise<number> {
    return view.page.evaluate(() => document.querySelector(".message-list")!.querySelectorAll("*").length);
  }

  /** The rendered messages, in DOM order, with their place in the branch as the list announces it. */
  function renderedMessages(): Promise<Array<{ id: string; position: number; setSize: number }>> {
    return view.page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>(".message-list article.message")).map((element) => ({
        id: element.dataset.messageId!,
        position: Number(element.getAttribute("aria-posinset")),
        setSize: Number(element.getAttribute("aria-setsize")),
      })),
    );
  }

  /**
   * The rendered messages are a run of the branch without gap or repeat, each at its own place: a
   * message missing from a page or present twice would shift every position after it.
   */
  async function assertRenderedRunOfBranch(messages: readonly Message[] = branch): Promise<void> {
    const rendered = await renderedMessages();
    assert.ok(rendered.length > 0, "some messages are rendered");
    rendered.forEach((message, index) => {
      assert.equal(message.setSize, messages.length, "the list knows how long the whole branch is");
      assert.equal(message.id, messages[message.position - 1]?.id, `message ${message.id} is at its place in the branch`);
      if (index > 0) assert.equal(message.position, rendered[index - 1]!.position + 1, "rendered messages are consecutive");
    });
  }

  /** Spacers (stand-ins for messages not rendered) that reach into the viewport: none when the rendered window covers it. */
  function spacersInView(): Promise<string[]> {
    return view.page.evaluate(() => {
      const list = document.querySelector(".message-list")!.getBoundingClientRect();
      return Array.from(document.querySelectorAll<HTMLElement>(".message-list__spacer")).flatMap((spacer, index) => {
        const box = spacer.getBoundingClientRect();
        return box.height > 0 && box.bottom > list.top + 1 && box.top < list.bottom - 1
          ? [`spacer ${index}: ${box.top}–${box.bottom}`]
          : [];
      });
    });
  }

  /** The first message whose bottom is below the list's top, and its top relative to the list's top. */
  function firstVisibleMessage(): Promise<{ id: string; offset: number }> {
    return view.page.evaluate(() => {
      const list = document.querySelector(".message-list")!;
      const top = list.getBoundingClientRect().top;
      for (const element of Array.from(list.querySelectorAll<HTMLElement>("article.message"))) {
        const box = element.getBoundingClientRect();
        if (box.bottom > top) return { id: element.dataset.messageId!, offset: box.top - top };
      }
      throw new Error("no message is visible");
    });
  }

  function topOfMessage(id: string): Promise<number | null> {
    return view.page.evaluate((id) => {
      const list = document.querySelector(".message-list")!;
      const element = list.querySelector(`[data-message-id="${id}"]`);
      return element ? element.getBoundingClientRect().top - list.getBoundingClientRect().top : null;
    }, id);
  }

  function distanceFromBottom(): Promise<number> {
    return view.page.evaluate(() => {
      const list = document.querySelector(".message-list")!;
      return list.scrollHeight - list.scrollTop - list.clientHeight;
    });
  }

  /** Keyboard and wheel scrolling may be animated: waits until the position has not changed for a few frames. */
  async function waitForScrollToSettle(): Promise<void> {
    await view.page.evaluate(async () => {
      const list = document.querySelector(".message-list")!;
      let last = -1;
      let stableFrames = 0;
      while (stableFrames < 5) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        stableFrames = list.scrollTop === last ? stableFrames + 1 : 0;
        last = list.scrollTop;
      }
    });
  }

  async function pressHomeAndWaitForFirstMessage(): Promise<void> {
    await view.page.locator(".message-list").focus();
    await view.page.keyboard.press("Home");
    await view.page.waitForFunction(
      () => {
        const list = document.querySelector(".message-list")!;
        const first = list.querySelector('[data-message-id="user-0"]');
        return (
          first !== null &&
          list.scrollTop === 0 &&
          document.querySelector(".message-list__older")!.hasAttribute("hidden") &&
          Math.abs(first.getBoundingClientRect().top - list.getBoundingClientRect().top - 12) <= 1
        );
      },
      undefined,
      { timeout: 90_000, polling: 100 },
    );
  }

  it("keeps a few hundred elements under the list and the right messages in order, wherever the reader is", async () => {
    await openPaged();
    const page = view.page;
    assert.ok((await listElementCount()) <= MAX_LIST_ELEMENTS, `at the bottom: ${await listElementCount()} elements`);
    await assertRenderedRunOfBranch();
    assert.equal((await renderedMessages()).at(-1)?.id, branch.at(-1)!.id);
    assert.ok((await distanceFromBottom()) <= 8, "it opens at the end");

    // Home loads every page above, in order, and lands on the first message.
    await pressHomeAndWaitForFirstMessage();
    const requests = await view.requests("messages/loadOlder");
    assert.equal(requests.length, (PAIRS * 2) / PAGE_SIZE - 1, "one request per older page");
    const cursors = requests.map((request) => (request.params as { cursor: string }).cursor);
    assert.equal(new Set(cursors).size, cursors.length, "no page is requested twice");
    assert.ok((await listElementCount()) <= MAX_LIST_ELEMENTS, `at the top: ${await listElementCount()} elements`);
    await assertRenderedRunOfBranch();
    assert.deepEqual((await renderedMessages())[0], { id: "user-0", position: 1, setSize: branch.length });

    // Anywhere in between (all of it loaded now): still a small window of the right messages, covering the viewport.
    for (const fraction of [0.25, 0.5, 0.75, 1]) {
      await page.evaluate((fraction) => {
        const list = document.querySelector(".message-list")!;
        list.scrollTop = fraction * (list.scrollHeight - list.clientHeight);
      }, fraction);
      await view.nextFrames(3);
      const elements = await listElementCount();
      assert.ok(elements <= MAX_LIST_ELEMENTS, `at ${fraction * 100}%: ${elements} elements`);
      await assertRenderedRunOfBranch();
      assert.deepEqual(await spacersInView(), [], `at ${fraction * 100}%, rendered messages cover the viewport`);
    }
    assert.equal((await renderedMessages()).at(-1)?.id, branch.at(-1)!.id);
  });

  it("keeps the message the reader is looking at in place when an older page arrives and when its messages are measured", async () => {
    await openPaged(branch, { isServingPages: false });
    const page = view.page;
    // Scroll up until the list asks for the page above (before the reader reaches the top of what is loaded).
    for (let step = 0; step < 100 && (await view.requests("messages/loadOlder")).length === 0; step++) {
      await page.evaluate(() => (document.querySelector(".message-list")!.scrollTop -= 300));
      await view.nextFrames(1);
    }
    const request = await view.waitForRequest("messages/loadOlder");
    const firstLoaded = branch[branch.length - PAGE_SIZE]!.id;
    const firstLoadedTop = await topOfMessage(firstLoaded);
    assert.ok(firstLoadedTop === null || firstLoadedTop < 0, "it asked before the reader reached the top of what is loaded");
    const anchor = await firstVisibleMessage();

    const cursor = (request.params as { cursor: string }).cursor;
    const end = branch.findIndex((message) => `before:${message.id}` === cursor);
    assert.equal(end, branch.length - PAGE_SIZE, "the cursor is the snapshot's");
    await view.respond(request.id, { messages: branch.slice(end - PAGE_SIZE, end), olderCursor: `before:${branch[end - PAGE_SIZE]!.id}` });
    await view.nextFrames(3);
    const afterPage = await topOfMessage(anchor.id);
    assert.ok(afterPage !== null && Math.abs(afterPage - anchor.offset) <= 2, `stayed at ${anchor.offset}, now ${afterPage}`);

    // Scrolling up renders the page's messages, estimated until now: each is measured above the
    // viewport, and what the reader sees moves by exactly the distance scrolled.
    for (let step = 0; step < 12; step++) {
      const before = await firstVisibleMessage();
      await page.evaluate(() => (document.querySelector(".message-list")!.scrollTop -= 250));
      await view.nextFrames(3);
      const now = await topOfMessage(before.id);
      assert.ok(
        now !== null && Math.abs(now - (before.offset + 250)) <= 2,
        `step ${step}: ${before.id} at ${before.offset} + 250, now ${now}`,
      );
    }
    await assertRenderedRunOfBranch();
  });

  it("scrolls with PageUp, PageDown, Home and End on the focused list", async () => {
    await openPaged();
    const page = view.page;
    const viewportHeight = await page.evaluate(() => document.querySelector(".message-list")!.clientHeight);
    await page.locator(".message-list").focus();

    const beforePageUp = await firstVisibleMessage();
    await page.keyboard.press("PageUp");
    await waitForScrollToSettle();
    const afterPageUp = await topOfMessage(beforePageUp.id);
    assert.ok(
      afterPageUp === null || afterPageUp - beforePageUp.offset >= viewportHeight / 2,
      `PageUp moved the conversation down by ${afterPageUp === null ? "more than the window" : afterPageUp - beforePageUp.offset} px`,
    );
    const beforePageDown = await firstVisibleMessage();
    await page.keyboard.press("PageDown");
    await waitForScrollToSettle();
    const afterPageDown = await topOfMessage(beforePageDown.id);
    assert.ok(
      afterPageDown === null || beforePageDown.offset - afterPageDown >= viewportHeight / 2,
      `PageDown moved the conversation up by ${afterPageDown === null ? "more than the window" : beforePageDown.offset - afterPageDown} px`,
    );

    await pressHomeAndWaitForFirstMessage();
    await assertRenderedRunOfBranch();
    await page.keyboard.press("End");
    await waitForScrollToSettle();
    assert.ok((await distanceFromBottom()) <= 8, "End goes to the bottom");
    assert.equal((await renderedMessages()).at(-1)?.id, branch.at(-1)!.id);
    assert.equal(await page.evaluate(() => document.activeElement?.className), "message-list", "the list kept the focus");
  });

  it("follows an answer streaming into the end of the conversation while at the bottom, and leaves a reader who scrolled up alone", async () => {
    const live = buildMessage({ id: "live", parentId: branch.at(-2)!.id, status: "streaming", content: "", finishReason: null });
    const messages = [...branch.slice(0, -1), live];
    await openPaged(messages);
    // The whole branch loaded: per-delta work must not depend on it.
    await pressHomeAndWaitForFirstMessage();
    await view.page.keyboard.press("End");
    await waitForScrollToSettle();

    const stream = async (text: string) => {
      await view.notify("stream/delta", { messageId: "live", text });
      await view.nextFrames(2);
    };
    for (let chunk = 0; chunk < 20; chunk++) await stream(`Paragraph ${chunk} of the answer, streamed.\n\n`);
    assert.ok((await distanceFromBottom()) <= 8, "at the bottom, the list follows the answer");
    assert.match((await view.page.locator('[data-message-id="live"] .message__body').textContent()) ?? "", /Paragraph 19 of the answer/);

    await view.page.locator(".message-list").hover();
    await view.page.mouse.wheel(0, -900);
    await waitForScrollToSettle();
    const reading = await firstVisibleMessage();
    const scrollTop = await view.page.evaluate(() => document.querySelector(".message-list")!.scrollTop);
    for (let chunk = 20; chunk < 40; chunk++) await stream(`Paragraph ${chunk}, arriving while the reader is above.\n\n`);
    assert.equal(
      await view.page.evaluate(() => document.querySelector(".message-list")!.scrollTop),
      scrollTop,
      "scrolled up: it stays put",
    );
    const readingNow = await topOfMessage(reading.id);
    assert.ok(readingNow !== null && Math.abs(readingNow - reading.offset) <= 1, "the message being read did not move");
    await assertRenderedRunOfBranch(messages);
  });

  it("goes back to a message in an older page after a reload, loading the pages above the snapshot", async () => {
    await openPaged();
    const page = view.page;
    // Read somewhere four pages up.
    const target = branch[branch.length - 4 * PAGE_SIZE - 7]!.id;
    await page.waitForFunction(
      (target) => {
        const list = document.querySelector(".message-list")!;
        const element = list.querySelector(`[data-message-id="${target}"]`);
        if (element) {
          list.scrollTop += element.getBoundingClientRect().top - list.getBoundingClientRect().top - 30;
          return true;
        }
        list.scrollTop -= list.clientHeight;
        return false;
      },
      target,
      { polling: 50, timeout: 60_000 },
    );
    await view.nextFrames(3);
    const before = await firstVisibleMessage();
    await page.waitForFunction(
      (id) => (window.__harness.state as { scrollAnchor?: { messageId: string } } | null)?.scrollAnchor?.messageId === id,
      before.id,
    );
    const saved = (await view.savedState()) as ChatViewState;
    assert.equal(saved.isPinnedToBottom, false);
    await view.close();

    await openPaged(branch, { savedState: saved });
    await view.page.waitForFunction((id) => document.querySelector(`[data-message-id="${id}"]`) !== null, before.id, { timeout: 60_000 });
    await view.nextFrames(3);
    const after = await firstVisibleMessage();
    assert.equal(after.id, before.id);
    assert.ok(Math.abs(after.offset - before.offset) <= 2, `same place: ${after.offset} vs ${before.offset}`);
    await assertRenderedRunOfBranch();
  });

  it("keeps older pages and the reader's place when the same conversation's snapshot comes again", async () => {
    await openPaged();
    const page = view.page;
    for (let step = 0; step < 30; step++) {
      await page.evaluate(() => (document.querySelector(".message-list")!.scrollTop -= 400));
      await view.nextFrames(2);
    }
    await waitForScrollToSettle();
    const before = await firstVisibleMessage();
    const requestsBefore = (await view.requests("messages/loadOlder")).length;
    assert.ok(requestsBefore >= 1, "the reader is in an older page");

    // The view was hidden and shown again: the host sends the newest page again.
    await view.notify("state/snapshot", buildPagedSnapshot(branch, PAGE_SIZE));
    await view.nextFrames(3);
    const after = await firstVisibleMessage();
    assert.equal(after.id, before.id);
    assert.ok(Math.abs(after.offset - before.offset) <= 2, `same place: ${after.offset} vs ${before.offset}`);
    await assertRenderedRunOfBranch();
  });

  it("retrying an answer in an older page replaces the branch from there, without loading the rest of history", async () => {
    const failedIndex = branch.length - 3 * PAGE_SIZE - 9; // an answer three pages up
    const failed: Message = {
      ...branch[failedIndex]!,
      status: "error",
      error: { code: "provider_overloaded", message: "The provider is overloaded right now." },
    };
    assert.equal(failed.role, "assistant");
    const messages = [...branch.slice(0, failedIndex), failed, ...branch.slice(failedIndex + 1)];
    await openPaged(messages);
    const page = view.page;
    await page.waitForFunction(
      (id) => {
        const list = document.querySelector(".message-list")!;
        const element = list.querySelector(`[data-message-id="${id}"]`);
        if (element) {
          // The failed answer is the message at the top of the viewport (the saved anchor), 10 px scrolled past its top.
          list.scrollTop += element.getBoundingClientRect().top - list.getBoundingClientRect().top + 10;
          return true;
        }
        list.scrollTop -= list.clientHeight;
        return false;
      },
      failed.id,
      { polling: 50, timeout: 60_000 },
    );
    await view.nextFrames(3);
    await page.locator(`[data-message-id="${failed.id}"] .message__retry`).click();
    const retry = await view.waitForRequest("message/retry");
    assert.deepEqual(retry.params, { messageId: failed.id });
    await view.respond(retry.id, { assistantMessageId: "retried" });
    const requestsBefore = (await view.requests("messages/loadOlder")).length;
    const failedTop = (await topOfMessage(failed.id))!;

    // The host's snapshot of the new branch: everything up to the question, then the new answer.
    const retried = buildMessage({ id: "retried", parentId: failed.parentId, status: "streaming", content: "", finishReason: null });
    const newBranch = [...messages.slice(0, failedIndex), retried];
    await view.notify("state/snapshot", buildPagedSnapshot(newBranch, PAGE_SIZE));
    // Long enough for dozens of pages to arrive from the in-page host, were any asked for.
    await view.nextFrames(30);
    assert.equal(await page.locator(`[data-message-id="${failed.id}"]`).count(), 0, "the failed answer is gone");
    // The reader stays at the question; below it there is now only the new answer, so the list
    // cannot keep the answer at the old answer's place, but shows it, at the end.
    const retriedTop = await topOfMessage("retried");
    const viewportHeight = await page.evaluate(() => document.querySelector(".message-list")!.clientHeight);
    assert.ok(
      retriedTop !== null && retriedTop >= failedTop - 2 && retriedTop < viewportHeight,
      `the new answer is in view: ${retriedTop}`,
    );
    assert.ok((await distanceFromBottom()) <= 8);
    await assertRenderedRunOfBranch(newBranch);
    assert.ok(
      (await view.requests("messages/loadOlder")).length <= requestsBefore + 1,
      "the pages already loaded stay; history is not loaded again",
    );
  });

  it("says when older messages cannot be loaded, and Retry loads them", async () => {
    const short = branch.slice(0, 10);
    view = await harness.open({ view: "chat" });
    // A newest page shorter than the view: the page above is needed at once.
    await view.notify("state/snapshot", buildPagedSnapshot(short, 4));
    const first = await view.waitForRequest("messages/loadOlder");
    assert.deepEqual(first.params, { conversationId: "conversation-1", cursor: "before:user-3" });
    await view.respondError(first.id, { code: "internal_error", message: "The team server could not be reached." });
    const status = view.page.locator(".message-list__older-status");
    await status.getByText("Could not load older messages: The team server could not be reached.").waitFor();
    assert.equal(await status.getAttribute("role"), "status");
    assert.equal((await view.requests("messages/loadOlder")).length, 1, "no retry without being asked");

    await view.page.getByRole("button", { name: "Retry loading older messages" }).click();
    const second = await view.waitForRequest("messages/loadOlder");
    assert.deepEqual(second.params, first.params);
    await view.respond(second.id, { messages: short.slice(0, 6), olderCursor: null });
    await view.page.locator(".message-list__older").waitFor({ state: "hidden" });
    await view.page.evaluate(() => (document.querySelector(".message-list")!.scrollTop = 0));
    await view.page.locator('[data-message-id="user-0"]').waitFor();
    await assertRenderedRunOfBranch(short);
  });

  it("offers Show Context on every finished answer, and the summarised or left-out note opens it too", async () => {
    const messages = [
      buildMessage({ id: "q1", role: "user", content: "First question" }),
      buildMessage({
        id: "a1",
        parentId: "q1",
        content: "First answer",
        context: buildContextRecord({ summary: { id: "summary-1", messageCount: 1240, modelId: "ollama:qwen3" } }),
      }),
      buildMessage({ id: "q2", role: "user", parentId: "a1", content: "Second question" }),
      buildMessage({ id: "a2", parentId: "q2", content: "Second answer", context: buildContextRecord({ leftOutMessageCount: 2 }) }),
      buildMessage({ id: "q3", role: "user", parentId: "a2", content: "Third question" }),
      buildMessage({ id: "a3", parentId: "q3", content: "Third answer", context: buildContextRecord() }),
      buildMessage({ id: "q4", role: "user", parentId: "a3", content: "Fourth question" }),
      buildMessage({ id: "a4", parentId: "q4", status: "streaming", content: "Still", finishReason: null }),
    ];
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages }));
    await view.nextFrames(2);
    const page = view.page;

    const summarised = page.locator('[data-message-id="a1"] .message__context-note');
    assert.equal(await summarised.textContent(), "1,240 earlier messages summarised");
    assert.match(
      (await summarised.getAttribute("title")) ?? "",
      /^1,240 earlier messages summarised to fit the model's context window\. Show Context/,
    );
    await summarised.click();
    assert.deepEqual(await view.waitForCommand("context/show"), { messageId: "a1" });
    const leftOut = page.locator('[data-message-id="a2"] .message__context-note');
    assert.equal(await leftOut.textContent(), "2 earlier messages left out");
    await leftOut.click();
    assert.deepEqual(await view.waitForCommand("context/show", 2), { messageId: "a2" });
    assert.equal(await page.locator('[data-message-id="a3"] .message__context-note').count(), 0, "nothing to say when all was sent");

    // The action itself: one per finished answer, none on questions or on the answer still streaming.
    const showContextButtons = page.getByRole("button", { name: "Show Context", exact: true });
    assert.equal(await showContextButtons.count(), 3);
    assert.equal(await page.locator('[data-message-id="a4"] .message__show-context').count(), 0);
    // Keyboard: Tab from the note reaches the answer's Show Context; Enter runs it.
    await leftOut.focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.closest("article")?.dataset.messageId), "a2");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Show Context");
    await page.keyboard.press("Enter");
    assert.deepEqual(await view.waitForCommand("context/show", 3), { messageId: "a2" });
    await page.locator('[data-message-id="a3"] .message__show-context').click();
    assert.deepEqual(await view.waitForCommand("context/show", 4), { messageId: "a3" });

    // When the streaming answer finishes with its record, it gets the action too.
    await view.notify("message/updated", {
      message: { ...messages[7]!, status: "complete", content: "Still here.", finishReason: "stop", context: buildContextRecord() },
    });
    assert.equal(await showContextButtons.count(), 4);
  });

  it("shows that an answer waits while older messages are summarised, until that is over", async () => {
    const question = buildMessage({ id: "q", role: "user", content: "Where were we?" });
    const answer = buildMessage({ id: "a", parentId: "q", status: "streaming", content: "", finishReason: null });
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages: [question, answer] }));
    await view.nextFrames(2);
    const statusLine = view.page.locator('[data-message-id="a"] .message__status');
    assert.equal((await statusLine.textContent())?.trim(), "Thinking…");

    await view.notify("stream/status", { messageId: "a", status: { phase: "summarising", messageCount: 1240 } });
    assert.equal((await statusLine.textContent())?.trim(), "Summarising 1,240 earlier messages…");
    assert.equal(await statusLine.locator("vscode-progress-ring").count(), 1);
    await view.notify("stream/status", { messageId: "a", status: null });
    assert.equal((await statusLine.textContent())?.trim(), "Thinking…");

    // The first text also ends the wait, whether or not the host said so first.
    await view.notify("stream/status", { messageId: "a", status: { phase: "summarising", messageCount: 1 } });
    assert.equal((await statusLine.textContent())?.trim(), "Summarising 1 earlier message…");
    await view.notify("stream/delta", { messageId: "a", text: "We were" });
    await view.nextFrames(2);
    assert.equal((await statusLine.textContent())?.trim(), "Generating…");
  });
});
