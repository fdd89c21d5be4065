import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { ChatViewState } from "../../protocol/webview/chat-protocol";
import { buildMessage, buildSampleConversation, buildSnapshot } from "../../tools/webview-harness/chat-fixtures";
import { closeCheckingHealth, type HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";

const MODELS = [
  { id: "anthropic:claude-sonnet-4-5", label: "Claude Sonnet 4.5", provider: "Anthropic", contextWindow: 200_000 },
  { id: "groq:llama-3.3-70b-versatile", label: "Llama 3.3 70B", provider: "Groq", contextWindow: 131_072 },
];

describe("chat webview in Chromium: keyboard and screen readers", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

  async function open(snapshot = buildSnapshot({ messages: buildSampleConversation(), models: MODELS })): Promise<Page> {
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", snapshot);
    await view.nextFrames();
    return view.page;
  }

  function streamingConversation() {
    const question = buildMessage({ id: "q", role: "user", content: "What is a debounce?" });
    const answer = buildMessage({ id: "a", parentId: "q", status: "streaming", content: "", finishReason: null, finishReasonRaw: null });
    return { question, answer };
  }

  it("announces a finished answer once, in a polite live region outside the list, naming the model as the picker does", async () => {
    const { question, answer } = streamingConversation();
    const page = await open(buildSnapshot({ messages: [question, answer], models: MODELS }));
    const region = page.locator(".live-region");
    assert.equal(await region.getAttribute("aria-live"), "polite");
    assert.equal(await region.getAttribute("role"), "status");
    assert.equal(await page.locator(".message-list .live-region").count(), 0, "not inside the virtualised list");
    // Count every change of the region from here on.
    await page.evaluate(() => {
      const state = window as unknown as { regionChanges: string[] };
      state.regionChanges = [];
      const element = document.querySelector(".live-region")!;
      new MutationObserver(() => state.regionChanges.push(element.textContent ?? "")).observe(element, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });

    for (const text of ["A debounce ", "waits until ", "the input is **quiet**", ", then runs once."]) {
      await view.notify("stream/delta", { messageId: "a", text });
      await view.nextFrames(1);
    }
    assert.equal(((await region.textContent()) ?? "").trim(), "", "nothing is said per token");

    const final = { ...answer, status: "complete" as const, content: "A debounce waits until the input is **quiet**, then runs once." };
    await view.notify("message/updated", { message: final });
    // The same final state again (a second view's update, a snapshot): said once only.
    await view.notify("message/updated", { message: final });
    await view.notify("state/snapshot", buildSnapshot({ messages: [question, final], models: MODELS }));
    await view.nextFrames();
    const changes = await page.evaluate(() => (window as unknown as { regionChanges: string[] }).regionChanges);
    assert.deepEqual(changes, ["Answer from Claude Sonnet 4.5 finished: A debounce waits until the input is quiet, then runs once."]);

    // Chromium's accessibility tree exposes it as a polite live status, which is what screen readers follow.
    const session = await page.context().newCDPSession(page);
    try {
      const { nodes } = (await session.send("Accessibility.getFullAXTree")) as {
        nodes: Array<{
          role?: { value?: string };
          name?: { value?: string };
          properties?: Array<{ name: string; value: { value?: unknown } }>;
        }>;
      };
      const status = nodes.find((node) => node.role?.value === "status");
      assert.ok(status, "a status node");
      assert.equal(status.properties?.find((property) => property.name === "live")?.value.value, "polite");
    } finally {
      await session.detach();
    }
    // The answer itself is labelled with the display name too, not the raw id.
    assert.equal(await page.locator('[data-message-id="a"]').getAttribute("aria-label"), "Answer from Claude Sonnet 4.5");
    assert.match((await page.locator('[data-message-id="a"] .message__metadata').textContent()) ?? "", /^Claude Sonnet 4\.5/);
  });

  it("says a stopped or failed answer ended too, and nothing for an answer that was never seen streaming", async () => {
    const { question, answer } = streamingConversation();
    const page = await open(buildSnapshot({ messages: [question, answer], models: MODELS }));
    await view.notify("message/updated", {
      message: { ...answer, status: "stopped", content: "Partial", modelId: "groq:llama-3.3-70b-versatile" },
    });
    await view.nextFrames();
    assert.equal(((await page.locator(".live-region").textContent()) ?? "").trim(), "Answer from Llama 3.3 70B stopped: Partial");
    await view.notify("message/updated", { message: buildMessage({ id: "elsewhere", parentId: "a", content: "Not streamed here" }) });
    await view.nextFrames();
    assert.equal(((await page.locator(".live-region").textContent()) ?? "").trim(), "Answer from Llama 3.3 70B stopped: Partial");
  });

  it("stops the streaming answer with Escape, from the composer or the conversation", async () => {
    const page = await open();
    await page.locator("vscode-textarea textarea").focus();
    await page.keyboard.press("Escape");
    assert.deepEqual(await view.waitForCommand("generation/stop"), { messageId: "answer-2" });
    await page.locator(".message-list").focus();
    await page.keyboard.press("Escape");
    assert.deepEqual(await view.waitForCommand("generation/stop", 2), { messageId: "answer-2" });
    // Nothing streams: Escape stops nothing.
    await view.notify("message/updated", { message: { ...buildSampleConversation()[3]!, status: "complete" } });
    await page.keyboard.press("Escape");
    await view.nextFrames();
    assert.equal((await view.commands("generation/stop")).length, 2);
  });

  it("brings the last message back with Up in an empty composer, and leaves a draft alone", async () => {
    const page = await open();
    const textarea = page.locator("vscode-textarea textarea");
    await textarea.focus();
    await page.keyboard.press("ArrowUp");
    assert.equal(await textarea.inputValue(), "Can you do it with a Python version too?");
    // The cursor is at the end, ready to edit.
    assert.deepEqual(await textarea.evaluate((element: HTMLTextAreaElement) => [element.selectionStart, element.selectionEnd]), [40, 40]);
    await page.keyboard.type(" And Go?");
    assert.equal(await textarea.inputValue(), "Can you do it with a Python version too? And Go?");
    // With text in the composer, Up moves the cursor as in any text box.
    await page.keyboard.press("ArrowUp");
    assert.equal(await textarea.inputValue(), "Can you do it with a Python version too? And Go?");
  });

  it("saves the draft on every change, not after typing pauses", async () => {
    const page = await open();
    await page.locator("vscode-textarea textarea").focus();
    await page.keyboard.type("abc");
    // Read right after the last key, with no time for a debounce to run.
    const saved = (await view.savedState()) as ChatViewState;
    assert.equal(saved.draft, "abc");
    const drafts = ((await view.stateWrites()) as ChatViewState[]).map((state) => state.draft);
    assert.deepEqual(
      drafts.filter((draft) => draft.length > 0),
      ["a", "ab", "abc"],
    );
  });

  it("offers an admin Team Settings when no model is visible, and tells a member to ask their admin", async () => {
    const empty = { conversation: null, messages: [], activeModel: null, models: [] };
    let page = await open(buildSnapshot({ ...empty, isAdmin: true }));
    assert.equal(((await page.locator(".chat-header__model").textContent()) ?? "").trim(), "No model");
    assert.match((await page.locator(".empty-state").textContent()) ?? "", /Add a provider key/);
    await page.locator(".empty-state__action", { hasText: "Open Team Settings" }).click();
    assert.deepEqual(await view.waitForCommand("host/run"), { command: "openTeamSettings" });
    await closeCheckingHealth(view, true);

    page = await open(buildSnapshot({ ...empty, isAdmin: false }));
    const text = (await page.locator(".empty-state").textContent()) ?? "";
    assert.match(text, /Ask your Juggler admin/);
    assert.doesNotMatch(text, /Team Settings/);
    assert.equal(await page.locator(".empty-state__action").count(), 0);
    // Models become visible (the host's live check): the header and the empty chat follow at once.
    await view.notify("model/changed", { activeModel: MODELS[0], models: MODELS });
    assert.equal(((await page.locator(".chat-header__model").textContent()) ?? "").trim(), "Claude Sonnet 4.5");
    assert.match((await page.locator(".empty-state").textContent()) ?? "", /Ask Claude Sonnet 4\.5/);
  });

  it("relabels the answers on screen when the models' names arrive", async () => {
    const page = await open(buildSnapshot({ messages: buildSampleConversation() }));
    const metadata = page.locator('[data-message-id="answer-1"] .message__metadata');
    assert.match((await metadata.textContent()) ?? "", /^claude-sonnet-4-5 ·/, "without names, the id's name part");
    await view.notify("model/changed", { activeModel: MODELS[0], models: MODELS });
    assert.match((await metadata.textContent()) ?? "", /^Claude Sonnet 4\.5 ·/);
    assert.equal(await page.locator('[data-message-id="answer-2"]').getAttribute("aria-label"), "Answer from Llama 3.3 70B");
  });

  it("reaches every control with Tab, in reading order, each with a visible focus ring", async () => {
    const page = await open(
      buildSnapshot({
        messages: buildSampleConversation(),
        models: MODELS,
        banner: {
          kind: "warning",
          message: "The Juggler server cannot be reached.",
          action: { label: "Reconnect", command: "retryConnection" },
        },
      }),
    );
    await page.locator("vscode-textarea textarea").fill("A draft, so Send is enabled");
    await page.locator("vscode-textarea textarea").blur();
    // Every control a pointer could use, in document order (light DOM; custom elements count as one).
    const expected = await page.evaluate(() =>
      [...document.querySelectorAll("button, a[href], vscode-button, vscode-toolbar-button, vscode-textarea, [tabindex='0']")]
        .filter((element) => {
          const box = element.getBoundingClientRect();
          return box.width > 0 && box.height > 0 && !element.closest("[hidden]") && !element.hasAttribute("disabled");
        })
        .map(
          (element) =>
            element.getAttribute("aria-label") ||
            element.getAttribute("label") ||
            element.textContent?.trim().slice(0, 30) ||
            element.className,
        ),
    );
    const reached: string[] = [];
    const withoutRing: string[] = [];
    // Start where a reader starts: at the top (a click on the title sets where Tab goes next).
    await page.locator(".chat-header__title").click();
    for (let step = 0; step < expected.length + 5; step++) {
      await page.keyboard.press("Tab");
      const focused = await describeFocus(page);
      // several messages have controls of the same name (Edit, Regenerate): a control met again ends the round
      if (!focused || focused.isReachedBefore) break;
      reached.push(focused.name);
      if (!(await showsFocusRing(page))) withoutRing.push(focused.name);
    }
    assert.deepEqual(reached, expected, "Tab reaches every control once, in reading order");
    assert.deepEqual(withoutRing, [], "each focused control shows a focus ring");
  });
});

/** The light-DOM element that has the focus (a custom element's host), named as the test's list names it. */
async function describeFocus(page: Page): Promise<{ name: string; isReachedBefore: boolean } | undefined> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return undefined;
    const name =
      element.getAttribute("aria-label") || element.getAttribute("label") || element.textContent?.trim().slice(0, 30) || element.className;
    const isReachedBefore = element.hasAttribute("data-tab-reached");
    element.setAttribute("data-tab-reached", "");
    return { name, isReachedBefore };
  });
}

/**
 * Whether the focused control looks different from the same control without the focus: a picture
 * of its box (and 3 px around it, where outlines go) with the focus, then without. Independent of
 * how the ring is drawn (outline, border, shadow DOM).
 */
async function showsFocusRing(page: Page): Promise<boolean> {
  const box = await page.evaluate(() => {
    const rectangle = document.activeElement!.getBoundingClientRect();
    return { x: rectangle.x, y: rectangle.y, width: rectangle.width, height: rectangle.height };
  });
  const viewport = page.viewportSize()!;
  const x = Math.max(0, box.x - 3);
  const y = Math.max(0, box.y - 3);
  const clip = { x, y, width: Math.min(viewport.width - x, box.width + 6), height: Math.min(viewport.height - y, box.height + 6) };
  if (clip.width <= 0 || clip.height <= 0) return false;
  const focused = await page.screenshot({ clip, animations: "disabled" });
  const element = await page.evaluateHandle(() => document.activeElement as HTMLElement);
  await element.evaluate((node) => node.blur());
  const unfocused = await page.screenshot({ clip, animations: "disabled" });
  // Back to where Tab left the focus, as a keyboard user had it.
  await element.evaluate((node) => node.focus({ focusVisible: true } as FocusOptions));
  return !focused.equals(unfocused);
}
