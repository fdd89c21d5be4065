import assert from "node:assert/strict";
import type { Message } from "../../protocol/http/conversations";
import type { FindInConversationResponse } from "../../protocol/http/search";
import { countOccurrences } from "../../protocol/text-occurrences";
import { buildConversation, buildPagedSnapshot } from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";

const PAIRS = 500;
const PAGE_SIZE = 50;

/** Answers 7, 107, 207, 307 and 407 say "needle" twice (far above the newest page); answer 490, in the newest page, once. */
function answerOf(index: number): string {
  if (index % 100 === 7) return `Answer ${index}: a NEEDLE in a haystack, and another needle.`;
  if (index === 490) return `Answer ${index}: the last needle.`;
  return `Answer number ${index}.`;
}

/**
 * The chat's find bar and the reveal of a search result, in Chromium: matches in the loaded messages
 * and, through the host, in the rest of the branch; going to a match above the loaded pages loads them.
 */
describe("chat webview: find in chat and revealing a message", function () {
  this.timeout(120_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;
  const branch = buildConversation(PAIRS, answerOf);

  async function open(): Promise<void> {
    view = await harness.open({ view: "chat", height: 600 });
    await view.serveOlderPages(branch, { pageSize: PAGE_SIZE });
    await view.notify(
      "state/snapshot",
      buildPagedSnapshot(branch, PAGE_SIZE, { conversation: { id: "c-1", title: "Haystack", modelId: null } }),
    );
    await view.nextFrames(3);
  }

  /** The host's side of find/inBranch: the server's answer for the whole branch. */
  async function answerFind(query: string): Promise<void> {
    const request = await view.waitForRequest("find/inBranch");
    assert.deepEqual(request.params, { conversationId: "c-1", query });
    const matches = branch.flatMap((message: Message, index) => {
      const count = countOccurrences(message.content, query);
      return count > 0 ? [{ messageId: message.id, depth: index + 1, count }] : [];
    });
    const answer: FindInConversationResponse = {
      leafMessageId: branch.at(-1)!.id,
      branchMessageCount: branch.length,
      matches,
      totalCount: matches.reduce((sum, match) => sum + match.count, 0),
      isTruncated: false,
    };
    await view.respond(request.id, answer);
  }

  const countText = () => view.page.locator(".find-bar__count").innerText();

  /** The message the current match's highlight is in, and whether it is inside the list's viewport. */
  function currentHighlight(): Promise<{ messageId: string | null; text: string; isVisible: boolean } | null> {
    return view.page.evaluate(() => {
      const highlight = CSS.highlights.get("juggler-find-current");
      const range = highlight ? ([...highlight][0] as Range | undefined) : undefined;
      if (!range) return null;
      const element = range.startContainer.parentElement?.closest<HTMLElement>("article.message");
      const list = document.querySelector(".message-list")!.getBoundingClientRect();
      const box = range.getBoundingClientRect();
      return {
        messageId: element?.dataset.messageId ?? null,
        text: range.toString(),
        isVisible: box.top >= list.top && box.bottom <= list.bottom,
      };
    });
  }

  it("opens with Ctrl+F, counts the loaded messages and the rest of the branch, and goes to matches not loaded yet", async () => {
    await open();
    await view.page.locator(".message-list").click();
    await view.page.keyboard.press("Control+f");
    const input = view.page.locator(".find-bar__input");
    await input.waitFor({ state: "visible" });
    assert.equal(await view.page.evaluate(() => document.activeElement?.className), "find-bar__input");

    await input.type("needle");
    await answerFind("needle");
    // 5 answers × 2 above the loaded page, then the one in it; the reader is at the bottom: the newest first
    await view.page.waitForFunction(() => document.querySelector(".find-bar__count")?.textContent === "11 of 11");
    const newest = await waitForCurrent("answer-490");
    assert.equal(newest.text, "needle");
    assert.equal(await view.page.getAttribute(".find-bar__count", "aria-live"), "polite");

    // Enter wraps to the first match, in answer 7: far above the loaded page, so older pages load until it is there
    await input.press("Enter");
    await view.page.waitForFunction(() => document.querySelector(".find-bar__count")?.textContent === "1 of 11");
    const first = await waitForCurrent("answer-7");
    assert.equal(first.text, "NEEDLE", "case does not matter; the first occurrence in the message");
    assert.ok(first.isVisible, "the match is scrolled into view");
    await input.press("Enter");
    const second = await waitForCurrent("answer-7");
    assert.equal(second.text, "needle");
    assert.equal(await countText(), "2 of 11");
    await input.press("Enter");
    await waitForCurrent("answer-107");
    await input.press("Shift+Enter");
    await input.press("Shift+Enter");
    assert.equal((await waitForCurrent("answer-7")).text, "NEEDLE");
    // every match in what is rendered is marked, not only the current one
    const marked = await view.page.evaluate(() =>
      [...(CSS.highlights.get("juggler-find-match") ?? [])].map((range) => (range as Range).toString()),
    );
    assert.ok(marked.length >= 2 && marked.every((text) => text.toLowerCase() === "needle"), JSON.stringify(marked));

    await input.press("Escape");
    await view.page.locator(".find-bar").waitFor({ state: "hidden" });
    // the marks go with the bar (and a search still under way when it closed does not bring them back)
    await view.page.waitForFunction(() => !CSS.highlights.has("juggler-find-current") && !CSS.highlights.has("juggler-find-match"), null, {
      timeout: 5_000,
    });
    assert.equal(
      await view.page.evaluate(() => document.activeElement?.classList.contains("message-list")),
      true,
      "focus returns to the list",
    );
  });

  it("says when nothing matches, and counts the loaded messages alone when the whole branch is loaded", async () => {
    view = await harness.open({ view: "chat", height: 600 });
    const short = buildConversation(10, (index) => (index === 3 ? "Straße and STRASSE and straße" : `Answer number ${index}.`));
    await view.notify(
      "state/snapshot",
      buildPagedSnapshot(short, PAGE_SIZE, { conversation: { id: "c-2", title: "Short", modelId: null } }),
    );
    await view.nextFrames(3);
    await view.notify("find/open", {});
    const input = view.page.locator(".find-bar__input");
    await input.waitFor({ state: "visible" });
    await input.type("STRAßE");
    await view.page.waitForFunction(() => /of 2$/.test(document.querySelector(".find-bar__count")?.textContent ?? ""));
    assert.deepEqual(await view.requests("find/inBranch"), [], "nothing above the loaded messages: no need to ask");
    await input.fill("haystack");
    await view.page.waitForFunction(() => document.querySelector(".find-bar__count")?.textContent === "No results");
    assert.equal(await view.page.locator(".find-bar--no-results").count(), 1);
    assert.equal(await view.page.locator(".find-bar__button[aria-label^='Next Match']").isDisabled(), true);
  });

  it("reveals and marks a search result that is not loaded yet", async () => {
    await open();
    await view.notify("message/reveal", { conversationId: "c-1", messageId: "answer-107" });
    await view.page.locator('[data-message-id="answer-107"].message--revealed').waitFor({ timeout: 20_000 });
    const placed = await view.page.evaluate(() => {
      const element = document.querySelector<HTMLElement>('[data-message-id="answer-107"]')!;
      const list = document.querySelector(".message-list")!.getBoundingClientRect();
      const box = element.getBoundingClientRect();
      return { isFocused: document.activeElement === element, isInView: box.top >= list.top - 1 && box.top < list.bottom };
    });
    assert.deepEqual(placed, { isFocused: true, isInView: true });
    // another conversation's message is not revealed here
    await view.notify("message/reveal", { conversationId: "c-other", messageId: "answer-7" });
    await view.nextFrames(5);
    assert.equal(await view.page.locator('[data-message-id="answer-7"]').count(), 0);
  });

  it("still reveals the search result when a snapshot of the same conversation arrives just after the request", async () => {
    // The host shows the view as it opens the conversation: the view's own snapshot (it became
    // visible) may come after message/reveal. The reveal must survive it.
    await open();
    await view.notify("message/reveal", { conversationId: "c-1", messageId: "answer-107" });
    await view.notify(
      "state/snapshot",
      buildPagedSnapshot(branch, PAGE_SIZE, { conversation: { id: "c-1", title: "Haystack", modelId: null } }),
    );
    await view.page.locator('[data-message-id="answer-107"].message--revealed').waitFor({ timeout: 20_000 });
    // a snapshot of another conversation ends a reveal still under way
    await view.notify("message/reveal", { conversationId: "c-1", messageId: "answer-3" });
    await view.notify(
      "state/snapshot",
      buildPagedSnapshot(branch, PAGE_SIZE, { conversation: { id: "c-9", title: "Other", modelId: null } }),
    );
    await view.nextFrames(10);
    assert.equal(await view.page.locator('[data-message-id="answer-3"].message--revealed').count(), 0);
  });

  async function waitForCurrent(messageId: string): Promise<{ messageId: string | null; text: string; isVisible: boolean }> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const current = await currentHighlight();
      if (current?.messageId === messageId) return current;
      if (Date.now() > deadline) throw new Error(`the current match is not in ${messageId}: ${JSON.stringify(current)}`);
      await view.nextFrames(2);
    }
  }
});
