import assert from "node:assert/strict";
import { findButtonsWithoutLabel } from "./support/accessibility";
import { buildMessage, buildSnapshot } from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";
import { TINY_PNG_BASE64 } from "../support/tiny-png";

/** The composer's context: chips (from the host or the `@` picker) with their size, removable, sent with the message. */
describe("chat webview: context chips and the @ file picker", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

  const selection = {
    attachment: {
      kind: "selection" as const,
      path: "src/loop.py",
      language: "python",
      startLine: 3,
      endLine: 4,
      content: "for i in range(3):\n    print(i)",
    },
    tokenEstimate: 9,
  };

  it("shows a selection from the editor as a chip with its lines and size, sends it with the message, then clears it", async () => {
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages: [] }));
    await view.notify("composer/attach", selection);
    const page = view.page;
    const chip = page.locator(".context-chip");
    await chip.waitFor();
    assert.equal(await chip.locator(".context-chip__label").textContent(), "loop.py:3–4");
    assert.equal(await chip.locator(".context-chip__size").textContent(), "9 tokens");
    await page.waitForFunction(() => document.querySelector(".live-region")?.textContent?.startsWith("Added selection src/loop.py"));
    await page.locator("vscode-textarea textarea").fill("Why does this print three lines?");
    await page.keyboard.press("Enter");
    const send = await view.waitForRequest("message/send");
    assert.deepEqual(send.params, { content: "Why does this print three lines?", attachments: [selection.attachment] });
    await view.respond(send.id, { conversationId: "conversation-1", assistantMessageId: "a1" });
    await chip.waitFor({ state: "detached" });
  });

  it("opens the @ picker, filters with the host, chooses with the keyboard and replaces @query with the file's chip; × removes it", async () => {
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages: [buildMessage({ id: "q", role: "user", content: "Hi" })] }));
    const page = view.page;
    await page.locator("vscode-textarea textarea").click();
    await page.keyboard.type("Look at @gre");
    const find = await view.waitForRequest("files/find");
    assert.deepEqual(find.params, { query: "gre" });
    await view.respond(find.id, { files: [{ path: "src/greeting.ts" }, { path: "test/greeting.test.ts" }] });
    await page.locator(".file-picker__option").nth(1).waitFor();
    assert.equal(await page.locator('.file-picker__option[aria-selected="true"] .file-picker__name').textContent(), "greeting.ts");
    await page.keyboard.press("ArrowDown");
    const activeId = await page.locator("vscode-textarea textarea").getAttribute("aria-activedescendant");
    assert.equal(activeId, "juggler-file-option-1", "the composer points at the active option");
    await page.keyboard.press("Enter");
    const attach = await view.waitForRequest("files/attach");
    assert.deepEqual(attach.params, { path: "test/greeting.test.ts" });
    await view.respond(attach.id, {
      attachment: { kind: "file", path: "test/greeting.test.ts", language: "typescript", content: "x".repeat(4800) },
      tokenEstimate: 1200,
    });
    await page.locator(".context-chip").waitFor();
    assert.equal(await page.locator(".context-chip__size").textContent(), "1.2K tokens");
    assert.equal(
      await page.evaluate(() => (document.querySelector("vscode-textarea") as HTMLElement & { value: string }).value),
      "Look at ",
      "the @query is gone",
    );
    assert.equal(await page.locator(".file-picker").isHidden(), true);
    assert.deepEqual(await findButtonsWithoutLabel(page), []);
    // Escape in the picker closes it and stops nothing
    await page.keyboard.type("@x");
    const again = await view.waitForRequest("files/find");
    await view.respond(again.id, { files: [] });
    await page.locator(".file-picker__empty").waitFor();
    await page.keyboard.press("Escape");
    assert.equal(await page.locator(".file-picker").isHidden(), true);
    await page.locator(".context-chip__remove").click();
    await page.locator(".context-chip").waitFor({ state: "detached" });
  });

  it("lists a sent question's files and selections under it, each a button that opens it as sent", async () => {
    view = await harness.open({ view: "chat" });
    const question = buildMessage({
      id: "q",
      role: "user",
      content: "Review",
      attachments: [
        {
          id: "at1",
          kind: "file",
          path: "src/sum.ts",
          language: "typescript",
          startLine: null,
          endLine: null,
          characterCount: 52,
          tokenEstimate: 13,
        },
        {
          id: "at2",
          kind: "selection",
          path: "src/loop.py",
          language: "python",
          startLine: 3,
          endLine: 4,
          characterCount: 30,
          tokenEstimate: 8,
        },
      ],
    });
    await view.notify("state/snapshot", buildSnapshot({ messages: [question] }));
    const items = view.page.locator('[data-message-id="q"] .message__attachment');
    await items.nth(1).waitFor();
    assert.deepEqual(await items.allTextContents(), ["src/sum.ts", "src/loop.py:3–4"]);
    // each opens what was sent, with the keyboard too
    assert.equal(await items.nth(1).getAttribute("aria-label"), "Open src/loop.py:3–4 as it was sent");
    await items.nth(1).focus();
    await view.page.keyboard.press("Enter");
    assert.deepEqual(await view.waitForCommand("attachment/open"), { messageId: "q", attachmentId: "at2", path: "src/loop.py" });
  });

  it("turns a pasted image into a chip and sends it base64 with its type; refuses a type no provider takes", async () => {
    view = await harness.open({ view: "chat" });
    await view.notify("state/snapshot", buildSnapshot({ messages: [] }));
    const page = view.page;
    const paste = (base64: string, type: string, name: string) =>
      page.evaluate(
        ({ base64, type, name }) => {
          const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type }));
          const target =
            document.querySelector("vscode-textarea")!.shadowRoot?.querySelector("textarea") ??
            document.querySelector("vscode-textarea textarea")!;
          target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, composed: true }));
        },
        { base64, type, name },
      );
    await paste(TINY_PNG_BASE64, "image/bmp", "old.bmp");
    await page.locator(".composer__error").waitFor();
    assert.match((await page.locator(".composer__error").textContent()) ?? "", /Only PNG, JPEG, GIF and WebP/);
    await paste(TINY_PNG_BASE64, "image/png", "screenshot.png");
    await page.locator(".context-chip").waitFor();
    assert.equal(await page.locator(".context-chip__label").textContent(), "screenshot.png");
    await page.locator("vscode-textarea textarea").fill("What is this?");
    await page.keyboard.press("Enter");
    const send = await view.waitForRequest("message/send");
    assert.deepEqual(send.params, {
      content: "What is this?",
      attachments: [{ kind: "image", path: "screenshot.png", mediaType: "image/png", data: TINY_PNG_BASE64 }],
    });
  });
});
