import assert from "node:assert/strict";
import type { ChatViewState } from "../../protocol/webview/chat-protocol";
import { findButtonsWithoutLabel, findUnnamedControls } from "./support/accessibility";
import {
  SAMPLE_CODE,
  buildContextRecord,
  buildConversation,
  buildMessage,
  buildSampleConversation,
  buildSnapshot,
} from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";
import { screenshotPath } from "../support/screenshot-path";

const SCREENSHOT_PATH = screenshotPath("webview-chat.png");

describe("chat webview in Chromium", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

  async function openWithSnapshot(
    snapshot = buildSnapshot({ messages: buildSampleConversation() }),
    options: { savedState?: unknown; height?: number } = {},
  ) {
    view = await harness.open({ view: "chat", ...options });
    await view.notify("state/snapshot", snapshot);
    await view.nextFrames();
    return view;
  }

  function composerValue(): Promise<string> {
    return view.page.evaluate(() => (document.querySelector("vscode-textarea") as HTMLElement & { value: string }).value);
  }

  async function typeInComposer(text: string): Promise<void> {
    await view.page.locator("vscode-textarea textarea").click();
    await view.page.keyboard.type(text);
  }

  it("renders a snapshot: title, model, messages and each answer's metadata", async () => {
    await openWithSnapshot();
    const page = view.page;
    assert.equal(await page.locator(".chat-header__title").textContent(), "Debounce a search box");
    assert.equal((await page.locator(".chat-header__model").textContent())?.trim(), "claude-sonnet-4-5");
    assert.equal(await page.locator("article.message").count(), 4);
    assert.equal(await page.locator("article.message--user").count(), 2);
    assert.match((await page.locator('[data-message-id="user-1"]').textContent()) ?? "", /debounce the search box in SearchPanel\.tsx/);
    assert.equal(
      await page.locator('[data-message-id="answer-1"] .message__metadata').textContent(),
      "claude-sonnet-4-5 · 1,234 → 567 tokens · 320 ms to first token · 150 tokens/s",
    );
    // The streaming answer: marked busy, with its own model and an indicator; Stop replaces Send.
    const streaming = page.locator('[data-message-id="answer-2"]');
    assert.equal(await streaming.getAttribute("aria-busy"), "");
    assert.equal(await streaming.locator(".message__metadata").textContent(), "llama-3.3-70b-versatile");
    assert.equal(await streaming.locator("vscode-progress-ring").count(), 1);
    assert.equal(await page.locator(".composer__stop").isVisible(), true);
    assert.equal(await page.locator(".composer__send").isVisible(), false);
    // Code is highlighted with highlight.js classes.
    assert.ok((await page.locator('[data-message-id="answer-1"] .code-block .hljs-keyword').count()) > 0);
  });

  it("appends streamed deltas on the next frame and replaces the answer with the final message/updated", async () => {
    const question = buildMessage({ id: "q", role: "user", content: "Say hello" });
    const answer = buildMessage({ id: "a", parentId: "q", status: "streaming", content: "", finishReason: null });
    await openWithSnapshot(buildSnapshot({ messages: [question, answer] }));
    const page = view.page;
    assert.equal((await page.locator('[data-message-id="a"] .message__status').textContent())?.trim(), "Thinking…");
    await page.evaluate(() => {
      (document.querySelector('[data-message-id="q"]') as HTMLElement & { marker?: string }).marker = "untouched";
    });

    // Many deltas in one task: nothing is rendered until the next animation frame, then all of it at once.
    const renderedInSameTask = await page.evaluate(() => {
      const deltas = ["Hello", ", ", "**wor", "ld**", "!", " How", " are", " you?"];
      for (const text of deltas) {
        window.dispatchEvent(
          new MessageEvent("message", { data: { kind: "notification", method: "stream/delta", params: { messageId: "a", text } } }),
        );
      }
      return document.querySelector('[data-message-id="a"] .message__body')!.textContent?.trim();
    });
    assert.equal(renderedInSameTask, "");
    await view.nextFrames();
    assert.equal((await page.locator('[data-message-id="a"] .message__body').textContent())?.trim(), "Hello, world! How are you?");
    assert.equal(await page.locator('[data-message-id="a"] .message__body strong').textContent(), "world");
    assert.equal(
      await page.evaluate(() => (document.querySelector('[data-message-id="q"]') as HTMLElement & { marker?: string }).marker),
      "untouched",
      "other messages are not re-rendered while one streams",
    );

    await view.notify("message/updated", {
      message: {
        ...answer,
        status: "complete",
        content: "Hello, world!",
        inputTokens: 12,
        outputTokens: 4,
        timeToFirstTokenMs: 250,
        finishReason: "stop",
      },
    });
    assert.equal((await page.locator('[data-message-id="a"] .message__body').textContent())?.trim(), "Hello, world!");
    assert.equal(
      await page.locator('[data-message-id="a"] .message__metadata').textContent(),
      "claude-sonnet-4-5 · 12 → 4 tokens · 250 ms to first token",
    );
    assert.equal(await page.locator('[data-message-id="a"]').getAttribute("aria-busy"), null);
    assert.equal(await page.locator(".composer__stop").isVisible(), false);
    assert.equal(await page.locator(".composer__send").isVisible(), true);
  });

  it("follows new text while the reader is at the bottom, and leaves them alone once they scroll up", async () => {
    const messages = [
      ...buildConversation(30),
      buildMessage({ id: "live", parentId: "answer-29", status: "streaming", content: "", finishReason: null }),
    ];
    await openWithSnapshot(buildSnapshot({ messages }));
    const page = view.page;
    const distanceFromBottom = () =>
      page.evaluate(() => {
        const list = document.querySelector(".message-list")!;
        return list.scrollHeight - list.scrollTop - list.clientHeight;
      });
    const stream = async (text: string) => {
      await view.notify("stream/delta", { messageId: "live", text });
      await view.nextFrames(3);
    };
    await stream("A paragraph.\n\n".repeat(20));
    assert.ok((await distanceFromBottom()) <= 8, "at the bottom, the list follows the answer");

    await page.locator(".message-list").hover();
    await page.mouse.wheel(0, -600);
    // Wheel scrolling may be animated: wait until the position has settled.
    await page.evaluate(async () => {
      const list = document.querySelector(".message-list")!;
      let last = -1;
      let stableFrames = 0;
      while (stableFrames < 5) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        stableFrames = list.scrollTop === last ? stableFrames + 1 : 0;
        last = list.scrollTop;
      }
    });
    const scrollTopWhileReading = await page.evaluate(() => document.querySelector(".message-list")!.scrollTop);
    await stream("More text.\n\n".repeat(20));
    assert.equal(
      await page.evaluate(() => document.querySelector(".message-list")!.scrollTop),
      scrollTopWhileReading,
      "scrolled up: it stays put",
    );
    assert.ok((await distanceFromBottom()) > 100);

    await page.evaluate(() => {
      const list = document.querySelector(".message-list")!;
      list.scrollTop = list.scrollHeight;
    });
    await view.nextFrames(2);
    await stream("Even more.\n\n".repeat(20));
    assert.ok((await distanceFromBottom()) <= 8, "back at the bottom, it follows again");
  });

  it("sends with Enter and clears the draft only after the host accepted the message", async () => {
    await openWithSnapshot(buildSnapshot());
    const page = view.page;
    assert.equal(await page.locator(".composer__send").getAttribute("disabled"), "", "Send is disabled while the composer is empty");
    await typeInComposer("   ");
    assert.equal(await page.locator(".composer__send").getAttribute("disabled"), "", "whitespace alone cannot be sent");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("How do I read a file in Go?");
    assert.equal(await page.locator(".composer__send").getAttribute("disabled"), null);
    await page.keyboard.press("Enter");

    const request = await view.waitForRequest("message/send");
    assert.deepEqual(request.params, { content: "How do I read a file in Go?" });
    assert.equal(await composerValue(), "How do I read a file in Go?", "the draft stays until the host answers");
    await view.respond(request.id, { conversationId: "conversation-1", assistantMessageId: "answer-9" });
    await page.waitForFunction(() => (document.querySelector("vscode-textarea") as HTMLElement & { value: string }).value === "");
    assert.equal(await page.locator(".composer__error").isVisible(), false);
  });

  it("keeps the draft and shows the error in plain words when sending fails", async () => {
    // an admin reads the server's words (they may name Team Settings)
    await openWithSnapshot(buildSnapshot({ isAdmin: true }));
    await typeInComposer("Explain this stack trace");
    await view.page.locator(".composer__send").click();
    const request = await view.waitForRequest("message/send");
    await view.respondError(request.id, {
      code: "provider_not_configured",
      message: "Groq has no API key — an admin can add one in Team Settings",
    });
    const error = view.page.locator(".composer__error");
    await error.waitFor({ state: "visible" });
    assert.equal(await error.textContent(), "Groq has no API key — an admin can add one in Team Settings");
    assert.equal(await error.getAttribute("role"), "alert");
    assert.equal(await composerValue(), "Explain this stack trace");
  });

  it("tells a member whose send fails to ask their admin, never to open Team Settings", async () => {
    await openWithSnapshot(buildSnapshot({ isAdmin: false }));
    await typeInComposer("Explain this stack trace");
    await view.page.locator(".composer__send").click();
    const request = await view.waitForRequest("message/send");
    await view.respondError(request.id, {
      code: "provider_not_configured",
      message: "Groq has no API key — an admin can add one in Team Settings",
    });
    const error = view.page.locator(".composer__error");
    await error.waitFor({ state: "visible" });
    assert.equal(await error.textContent(), "This provider is not set up on the team server. Ask your Juggler admin to set it up.");
    assert.equal(await composerValue(), "Explain this stack trace");
    // a failure with no member wording keeps the server's words
    await view.page.locator(".composer__send").click();
    const second = await view.waitForRequest("message/send");
    await view.respondError(second.id, { code: "conflict", message: "An answer is still being written in this conversation" });
    await view.page.waitForFunction(() => document.querySelector(".composer__error")?.textContent?.includes("still being written"));
  });

  it("inserts a new line with Shift+Enter instead of sending", async () => {
    await openWithSnapshot(buildSnapshot());
    await typeInComposer("first line");
    await view.page.keyboard.press("Shift+Enter");
    await view.page.keyboard.type("second line");
    assert.equal(await composerValue(), "first line\nsecond line");
    assert.deepEqual(await view.requests("message/send"), []);
  });

  it("posts generation/stop for the streaming answer when Stop is pressed", async () => {
    await openWithSnapshot();
    await view.page.locator(".composer__stop").click();
    assert.deepEqual(await view.waitForCommand("generation/stop"), { messageId: "answer-2" });
  });

  it("shows failed, interrupted and stopped answers in plain words, and Retry posts message/retry", async () => {
    const messages = [
      buildMessage({ id: "q1", role: "user", content: "First" }),
      buildMessage({
        id: "failed",
        parentId: "q1",
        status: "error",
        content: "Partial answ",
        error: { code: "provider_rate_limited", message: "Anthropic is limiting requests right now.", retryable: true },
      }),
      buildMessage({ id: "q2", role: "user", parentId: "failed", content: "Second" }),
      buildMessage({ id: "cut", parentId: "q2", status: "interrupted", content: "Half of it" }),
      buildMessage({ id: "q3", role: "user", parentId: "cut", content: "Third" }),
      buildMessage({ id: "stopped", parentId: "q3", status: "stopped", content: "Stopped here" }),
    ];
    await openWithSnapshot(buildSnapshot({ messages }));
    const page = view.page;
    assert.equal(
      await page.locator('[data-message-id="failed"] .message__problem-text').textContent(),
      "The answer failed: Anthropic is limiting requests right now.",
    );
    assert.match((await page.locator('[data-message-id="cut"] .message__problem-text').textContent()) ?? "", /^The answer was interrupted/);
    assert.equal((await page.locator('[data-message-id="stopped"] .message__stopped').textContent())?.trim(), "Stopped");
    assert.equal(await page.locator('[data-message-id="stopped"] .message__retry').count(), 0);

    await page.locator('[data-message-id="failed"] .message__retry').click();
    const retry = await view.waitForRequest("message/retry");
    assert.deepEqual(retry.params, { messageId: "failed" });
    await view.respondError(retry.id, { code: "model_unavailable", message: "That model is no longer available." });
    await page.locator('[data-message-id="failed"] .message__retry-error').waitFor();
    assert.equal(
      await page.locator('[data-message-id="failed"] .message__retry-error').textContent(),
      "Retry failed: That model is no longer available.",
    );

    // A new answer to the same question (the retry's sibling) replaces the failed one and what followed.
    await page.locator('[data-message-id="cut"] .message__retry').click();
    const secondRetry = await view.waitForRequest("message/retry");
    assert.deepEqual(secondRetry.params, { messageId: "cut" });
    await view.respond(secondRetry.id, { assistantMessageId: "cut-2" });
    await view.notify("messages/appended", {
      conversationId: "conversation-1",
      messages: [buildMessage({ id: "cut-2", parentId: "q2", status: "streaming", content: "", finishReason: null })],
    });
    assert.deepEqual(
      await page
        .locator("article.message")
        .evaluateAll((elements) => elements.map((element) => (element as HTMLElement).dataset.messageId)),
      ["q1", "failed", "q2", "cut-2"],
    );
  });

  it("says when a fallback model answered and why, and Rerun asks the model that was asked for", async () => {
    const messages = [
      buildMessage({ id: "q1", role: "user", content: "Explain borrowing" }),
      buildMessage({
        id: "fell-back",
        parentId: "q1",
        provider: "anthropic",
        modelId: "anthropic:claude-sonnet-4-5",
        content: "Borrowing lends a value without moving it.",
        context: buildContextRecord({
          modelId: "anthropic:claude-sonnet-4-5",
          fallback: {
            requestedModelId: "groq:llama-3.3-70b-versatile",
            reason: { code: "provider_overloaded", message: "Groq is overloaded right now — try again shortly" },
          },
        }),
      }),
    ];
    await openWithSnapshot(buildSnapshot({ messages }));
    const note = view.page.locator('[data-message-id="fell-back"] .message__fallback');
    assert.equal(
      await note.locator(".message__fallback-text").textContent(),
      "Answered by claude-sonnet-4-5 because llama-3.3-70b-versatile was overloaded",
    );
    const rerun = note.locator("button.message__fallback-rerun");
    assert.equal((await rerun.textContent())?.trim(), "Rerun on llama-3.3-70b-versatile");
    await rerun.focus();
    await view.page.keyboard.press("Enter");
    const retry = await view.waitForRequest("message/retry");
    assert.deepEqual(retry.params, { messageId: "fell-back", modelId: "groq:llama-3.3-70b-versatile" });
  });

  it("posts link/open for a clicked link and never navigates the webview", async () => {
    await openWithSnapshot();
    const urlBefore = view.page.url();
    // VS Code's webview frame listens on the window for link clicks and opens them itself, without
    // the host's confirmation: a link click must never get there.
    await view.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { linkClicksSeenByWindow: string[] }).linkClicksSeenByWindow = seen;
      for (const type of ["click", "auxclick"]) {
        window.addEventListener(type, (event) => {
          if ((event.target as Element | null)?.closest?.("a")) seen.push(type);
        });
      }
    });
    await view.page.locator('[data-message-id="answer-1"]').scrollIntoViewIfNeeded();
    await view.page.locator('[data-message-id="answer-1"] a.markdown-link').click();
    assert.deepEqual(await view.waitForCommand("link/open"), { href: "https://developer.mozilla.org/docs/Web/API/setTimeout" });
    await view.page.locator('[data-message-id="answer-1"] a.markdown-link').click({ button: "middle" });
    await view.waitForCommand("link/open", 2);
    assert.equal(view.page.url(), urlBefore);
    assert.equal(view.page.context().pages().length, 1, "no window was opened");
    assert.deepEqual(
      await view.page.evaluate(() => (window as unknown as { linkClicksSeenByWindow: string[] }).linkClicksSeenByWindow),
      [],
    );
  });

  it("posts the exact code and language for Copy, Insert at Cursor and Open in New Editor", async () => {
    await openWithSnapshot();
    const block = view.page.locator('[data-message-id="answer-1"] .code-block');
    await block.scrollIntoViewIfNeeded();
    await block.locator('[data-code-action="copy"]').click();
    await block.locator('[data-code-action="insert"]').click();
    await block.locator('[data-code-action="open"]').click();
    const expected = { code: SAMPLE_CODE, language: "ts" };
    assert.deepEqual(await view.waitForCommand("code/copy"), expected);
    assert.deepEqual(await view.waitForCommand("code/insert"), expected);
    assert.deepEqual(await view.waitForCommand("code/open"), expected);
    assert.equal(await block.locator('[data-code-action="copy"] .codicon-check').count(), 1, "Copy shows it worked");
  });

  it("posts model/pick, conversation/new and the banner's host command from the header and banner", async () => {
    await openWithSnapshot(
      buildSnapshot({
        connection: "needs-sign-in",
        banner: {
          kind: "error",
          message: "Your session ended. Sign in again to continue.",
          action: { label: "Sign in again", command: "signIn" },
        },
      }),
    );
    const page = view.page;
    assert.equal(await page.locator(".banner").getAttribute("role"), "alert");
    assert.match((await page.locator(".banner").textContent()) ?? "", /Your session ended/);
    await page.locator(".banner__action").click();
    assert.deepEqual(await view.waitForCommand("host/run"), { command: "signIn" });
    await page.locator(".chat-header__model").click();
    assert.deepEqual(await view.waitForCommand("model/pick"), {});
    await page.locator(".chat-header__new").click();
    assert.deepEqual(await view.waitForCommand("conversation/new"), {});

    await view.notify("banner/show", { banner: null });
    assert.equal(await page.locator(".banner").count(), 0);
    await view.notify("model/changed", {
      activeModel: { id: "groq:llama-3.3-70b-versatile", label: "llama-3.3-70b-versatile", provider: "groq", contextWindow: 131072 },
    });
    assert.equal((await page.locator(".chat-header__model").textContent())?.trim(), "llama-3.3-70b-versatile");
  });

  it("adds a selection sent from the editor to the draft (composer/focus)", async () => {
    await openWithSnapshot(buildSnapshot());
    await typeInComposer("Explain:");
    await view.notify("composer/focus", { appendText: "```ts\nconst answer = 42;\n```" });
    assert.equal(await composerValue(), "Explain:\n\n```ts\nconst answer = 42;\n```");
  });

  it("saves the draft and scroll position with setState and restores them after a reload", async () => {
    const snapshot = buildSnapshot({ messages: buildConversation(60) });
    await openWithSnapshot(snapshot);
    const page = view.page;
    await page.evaluate(() => {
      const list = document.querySelector(".message-list")!;
      list.scrollTop = list.scrollHeight / 2;
    });
    await typeInComposer("half-written question");
    await page.waitForFunction(() => {
      const state = window.__harness.state as { draft?: string; isPinnedToBottom?: boolean } | null;
      return state?.draft === "half-written question" && state.isPinnedToBottom === false;
    });
    const topMessageBefore = await firstVisibleMessage(view);
    const saved = (await view.savedState()) as ChatViewState;
    assert.equal(saved.version, 1);
    assert.equal(saved.conversationId, "conversation-1");
    assert.ok(saved.scrollTop > 0);
    assert.equal(saved.scrollAnchor?.messageId, topMessageBefore.id);
    await view.close();

    // "Reload": a new page whose getState() returns what the last one saved.
    view = await harness.open({ view: "chat", savedState: saved });
    assert.deepEqual(await view.commands("webview/ready"), [{ restoredConversationId: "conversation-1" }]);
    assert.equal(await composerValue(), "half-written question");
    await view.notify("state/snapshot", snapshot);
    await view.nextFrames(3);
    const topMessageAfter = await firstVisibleMessage(view);
    assert.equal(topMessageAfter.id, topMessageBefore.id);
    assert.ok(
      Math.abs(topMessageAfter.offset - topMessageBefore.offset) <= 2,
      `same place: ${topMessageAfter.offset} vs ${topMessageBefore.offset}`,
    );
  });

  it("ignores saved state of another shape instead of misreading it", async () => {
    view = await harness.open({ view: "chat", savedState: { version: 0, text: "old" } });
    assert.deepEqual(await view.commands("webview/ready"), [{ restoredConversationId: null }]);
    assert.equal(await composerValue(), "");
  });

  it("renders a 1,000-message snapshot at its end with only the messages near the viewport in the DOM, and reaches its first message", async () => {
    const messages = buildConversation(500, (index) =>
      index % 10 === 0
        ? `Here is code ${index}:\n\n\`\`\`python\nprint(${index})\n\`\`\``
        : `Answer **${index}** with a [link](https://example.com/${index}).`,
    );
    view = await harness.open({ view: "chat" });
    // Timed inside the page (validation, rendering, the first layout), not the test's own messaging.
    const renderMs = await view.page.evaluate(async (snapshot) => {
      const started = performance.now();
      window.dispatchEvent(new MessageEvent("message", { data: { kind: "notification", method: "state/snapshot", params: snapshot } }));
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      return Math.round(performance.now() - started);
    }, buildSnapshot({ messages }));
    await view.nextFrames(3);
    // Virtualised: a snapshot of any size renders a window of messages, not all of them.
    const rendered = await view.page.locator("article.message").count();
    assert.ok(rendered > 0 && rendered <= 40, `${rendered} messages rendered`);
    const isAtEnd = await view.page.evaluate(() => {
      const list = document.querySelector(".message-list")!;
      return list.scrollHeight - list.scrollTop - list.clientHeight <= 8;
    });
    assert.equal(isAtEnd, true);
    assert.ok(await view.page.locator('[data-message-id="answer-499"]').isVisible());
    // All 1,000 are there to scroll to.
    await view.page.locator(".message-list").focus();
    await view.page.keyboard.press("Home");
    await view.page.locator('[data-message-id="user-0"]').waitFor();
    assert.equal(await view.page.locator('[data-message-id="user-0"]').getAttribute("aria-posinset"), "1");
    assert.equal(await view.page.locator('[data-message-id="user-0"]').getAttribute("aria-setsize"), "1000");
    console.log(`      1,000-message snapshot rendered and laid out in ${renderMs} ms (measured, not asserted)`);
  });

  it("gives every button and control an accessible name", async () => {
    const messages = [
      ...buildSampleConversation().slice(0, 3),
      buildMessage({
        id: "failed",
        parentId: "user-2",
        status: "error",
        error: { code: "provider_error", message: "The provider failed." },
      }),
    ];
    await openWithSnapshot(
      buildSnapshot({
        messages,
        banner: { kind: "warning", message: "Offline", action: { label: "Retry connection", command: "retryConnection" } },
      }),
    );
    await typeInComposer("something");
    assert.deepEqual(await findButtonsWithoutLabel(view.page), []);
    assert.deepEqual(await findUnnamedControls(view.page), []);
  });

  it("takes the chat screenshot for the docs", async () => {
    await openWithSnapshot(buildSnapshot({ messages: buildSampleConversation() }), { height: 940 });
    await view.page.setViewportSize({ width: 460, height: 940 });
    await typeInComposer("Now add a cancel() method");
    await view.page.evaluate(() => {
      // Start at the question so the whole first answer is in the picture.
      const list = document.querySelector(".message-list")!;
      list.scrollTop = 0;
    });
    await view.page.evaluate(() => document.fonts.ready);
    await view.nextFrames(3);
    // What the picture is about is on screen: the question, the answer with its code and Show
    // Context, the streaming answer below, the draft; and the text is in the theme's colour.
    const page = view.page;
    for (const selector of [
      '[data-message-id="user-1"]',
      '[data-message-id="answer-1"] .code-block',
      '[data-message-id="answer-1"] .message__show-context',
      '[data-message-id="user-2"]',
      ".composer",
    ]) {
      assert.ok(await page.locator(selector).isVisible(), `${selector} is visible`);
    }
    assert.equal((await page.locator('[data-message-id="user-1"]').boundingBox())!.y < 100, true, "the first question is at the top");
    assert.equal(await composerValue(), "Now add a cancel() method");
    const colours = await page.evaluate(() => {
      const probe = document.createElement("div");
      probe.style.setProperty("color", "var(--vscode-foreground)");
      document.body.append(probe);
      const foreground = getComputedStyle(probe).color;
      probe.remove();
      return { foreground, answer: getComputedStyle(document.querySelector('[data-message-id="answer-1"] .message__body p')!).color };
    });
    assert.equal(colours.answer, colours.foreground, "answer text in the theme's foreground colour");
    await view.page.screenshot({ path: SCREENSHOT_PATH });
  });
});

async function firstVisibleMessage(view: HarnessPage): Promise<{ id: string; offset: number }> {
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
