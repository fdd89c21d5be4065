import assert from "node:assert/strict";
import { buildMessage, buildSnapshot } from "../../tools/webview-harness/chat-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";

declare global {
  interface Window {
    /** Set by any hostile payload that manages to run. */
    __pwned?: unknown;
  }
}

/**
 * Answers are model output, and model output is untrusted: it may repeat a prompt-injected page
 * word for word. Each payload below would set window.__pwned (or open a dialog) if it ever ran.
 */
const HOSTILE_PAYLOADS: Record<string, string> = {
  "script tag": `<script>window.__pwned = "script"</script>`,
  "script tag inside a paragraph": `Hello <script>window.__pwned = "inline-script"</script> world`,
  "img onerror": `<img src=x onerror="window.__pwned='img'">`,
  "markdown javascript link": `[click me](javascript:window.__pwned='md-link')`,
  "html javascript link": `<a href="javascript:window.__pwned='a'">a link</a>`,
  "iframe with javascript src": `<iframe src="javascript:window.__pwned='iframe'"></iframe>`,
  "iframe srcdoc": `<iframe srcdoc="<script>parent.__pwned='srcdoc'</script>"></iframe>`,
  "svg onload": `<svg onload="window.__pwned='svg'"><circle r="4"/></svg>`,
  "details ontoggle": `<details open ontoggle="window.__pwned='details'"><summary>x</summary></details>`,
  "data: html link": `[data link](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+)`,
  "data: svg image": `![logo](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9InBhcmVudC5fX3B3bmVkPTEiLz4=)`,
  "data: png image": `![pixel](data:image/png;base64,iVBORw0KGgo=)`,
  "entity-encoded scheme": `[entity](&#106;avascript:window.__pwned='entity')`,
  "hex entity-encoded scheme": `[hex](&#x6A;&#x61;vascript:window.__pwned='hex')`,
  "tab inside the scheme": `[tab](java&#x09;script:window.__pwned='tab')`,
  "entity-encoded html link": `<a href="&#106;avascript:window.__pwned='a-entity'">x</a>`,
  "vbscript link": `[vb](vbscript:msgbox(1))`,
  "file link": `[passwd](file:///etc/passwd)`,
  "javascript autolink": `<javascript:window.__pwned='autolink'>`,
  "reference-style javascript link": `[ref link][evil]\n\n[evil]: javascript:window.__pwned='reference'`,
  "image title breaking out": `![x](https://example.com/a.png "\\" onerror=\\"window.__pwned='title'")`,
  "fence language breaking out": "```\"><img src=x onerror=window.__pwned='lang'>\nconsole.log(1)\n```",
  "style tag": `<style>body { display: none }</style>`,
  "mutation xss": `<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'">`,
  "object and embed": `<object data="javascript:window.__pwned='object'"></object><embed src="javascript:window.__pwned='embed'">`,
  "form action": `<form action="javascript:window.__pwned='form'"><button>go</button></form>`,
  "meta refresh": `<meta http-equiv="refresh" content="0;url=javascript:window.__pwned='meta'">`,
  "base href": `<base href="javascript:window.__pwned='base'//">`,
  "link with onclick": `[normal](https://example.com" onclick="window.__pwned='onclick')`,
};

describe("markdown safety in the chat webview (hostile answers never execute)", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness({ checksHealth: false });
  let view: HarnessPage;
  let dialogs: string[];
  let outsideRequests: string[];

  beforeEach(async () => {
    view = await harness.open({ view: "chat" });
    dialogs = [];
    outsideRequests = [];
    view.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const origin = new URL(view.page.url()).origin;
    view.page.on("request", (request) => {
      if (!request.url().startsWith(origin)) outsideRequests.push(request.url());
    });
  });

  async function showAnswers(contents: readonly string[], status: "complete" | "streaming" = "complete"): Promise<void> {
    const messages = contents.map((content, index) => buildMessage({ id: `answer-${index}`, content, status }));
    await view.notify("state/snapshot", buildSnapshot({ messages }));
    await view.nextFrames();
    // Give a payload that waits for an error or load event the chance to fire.
    await view.page.waitForTimeout(300);
  }

  /** What a successful attack would have left behind inside the rendered answers. */
  async function dangerousLeftovers(): Promise<string[]> {
    return view.page.evaluate(() => {
      const found: string[] = [];
      const bodies = Array.from(document.querySelectorAll(".message__body"));
      for (const body of bodies) {
        for (const element of [body, ...Array.from(body.querySelectorAll("*"))]) {
          const tag = element.localName;
          if (
            ["script", "iframe", "object", "embed", "svg", "math", "img", "style", "form", "meta", "base", "details", "link"].includes(tag)
          ) {
            found.push(`<${tag}>`);
          }
          for (const attribute of Array.from(element.attributes)) {
            if (attribute.name.startsWith("on")) found.push(`${tag}[${attribute.name}]`);
            if (attribute.name === "style" || attribute.name === "srcdoc" || attribute.name === "src")
              found.push(`${tag}[${attribute.name}]`);
          }
          if (element instanceof HTMLAnchorElement && !/^https?:/.test(element.href)) found.push(`a[href=${element.href}]`);
        }
      }
      return found;
    });
  }

  for (const [name, payload] of Object.entries(HOSTILE_PAYLOADS)) {
    it(`does not execute: ${name}`, async () => {
      await showAnswers([payload]);
      assert.equal(await view.page.evaluate(() => window.__pwned), undefined);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(await dangerousLeftovers(), []);
      assert.deepEqual(outsideRequests, [], "nothing was fetched from outside the bundle's origin");
      assert.deepEqual(view.errors, []);
    });
  }

  it("does not execute any of them while they stream in piece by piece", async () => {
    await view.notify("state/snapshot", buildSnapshot({ messages: [buildMessage({ id: "s", status: "streaming", content: "" })] }));
    const everything = Object.values(HOSTILE_PAYLOADS).join("\n\n");
    // Small, uneven pieces split tags and entities in every possible place, rendered over many frames.
    await view.page.evaluate(async (everything) => {
      let piece = 0;
      for (let start = 0, size = 1; start < everything.length; start += size, size = (size % 7) + 1) {
        const params = { messageId: "s", text: everything.slice(start, start + size) };
        window.dispatchEvent(new MessageEvent("message", { data: { kind: "notification", method: "stream/delta", params } }));
        if (++piece % 3 === 0) await new Promise((resolve) => requestAnimationFrame(resolve));
      }
    }, everything);
    await view.nextFrames();
    await view.page.waitForTimeout(300);
    assert.equal(await view.page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(await dangerousLeftovers(), []);
    assert.deepEqual(outsideRequests, []);
  });

  it("shows hostile markup as the text the model wrote", async () => {
    await showAnswers([HOSTILE_PAYLOADS["script tag"]!, HOSTILE_PAYLOADS["img onerror"]!]);
    assert.equal(
      (await view.page.locator('[data-message-id="answer-0"] .message__body').textContent())?.trim(),
      `<script>window.__pwned = "script"</script>`,
    );
    assert.equal(
      (await view.page.locator('[data-message-id="answer-1"] .message__body').textContent())?.trim(),
      `<img src=x onerror="window.__pwned='img'">`,
    );
  });

  it("turns a javascript: link into plain text, not an anchor", async () => {
    await showAnswers([
      HOSTILE_PAYLOADS["markdown javascript link"]!,
      "[entity](&#106;avascript:alert(1)) and [tab](java&#x09;script:alert(1))",
    ]);
    assert.equal(await view.page.locator(".message__body a").count(), 0);
    assert.match((await view.page.locator('[data-message-id="answer-0"]').textContent()) ?? "", /click me/);
  });

  it("keeps http and https links, drops mailto and relative ones and links only addresses with a scheme", async () => {
    await showAnswers([
      "[docs](https://code.visualstudio.com/api) [plain](http://example.com/a?b=1) [mail](mailto:team@example.com) [relative](/etc/hosts) [anchor](#top) https://linked.example.org/path www.example.net write to team@example.com",
    ]);
    const hrefs = await view.page
      .locator(".message__body a")
      .evaluateAll((anchors) => anchors.map((anchor) => (anchor as HTMLAnchorElement).href));
    assert.deepEqual(hrefs, ["https://code.visualstudio.com/api", "http://example.com/a?b=1", "https://linked.example.org/path"]);
    // the host opens http(s) only: a mailto link or an e-mail address is text, never a dead link
    assert.match((await view.page.locator(".message__body").textContent()) ?? "", /mail relative anchor/);
    assert.match((await view.page.locator(".message__body").textContent()) ?? "", /write to team@example\.com/);
  });

  it("does not linkify file names that look like domains", async () => {
    await showAnswers(["Edit main.py, README.md and build.sh"]);
    assert.equal(await view.page.locator(".message__body a").count(), 0);
  });

  it("never loads images: an image becomes a link to open it, or its alt text", async () => {
    await showAnswers([
      "![architecture diagram](https://example.com/diagram.png)\n\n![tracking pixel](data:image/gif;base64,R0lGODlhAQABAAAAACw=)",
    ]);
    assert.equal(await view.page.locator(".message__body img").count(), 0);
    const link = view.page.locator(".message__body a.markdown-image-link");
    assert.equal(await link.textContent(), "Image: architecture diagram");
    assert.equal(await link.getAttribute("href"), "https://example.com/diagram.png");
    assert.match((await view.page.locator(".message__body").textContent()) ?? "", /\[Image: tracking pixel\]/);
    assert.deepEqual(outsideRequests, []);
  });

  it("renders an unclosed fence while streaming as a code block, then the closed one with what follows", async () => {
    await view.notify("state/snapshot", buildSnapshot({ messages: [buildMessage({ id: "s", status: "streaming", content: "" })] }));
    await view.notify("stream/delta", {
      messageId: "s",
      text: "Try this:\n\n```ts\nconst total = items.reduce((sum, item) => sum + item.price, 0);\nconsole",
    });
    await view.nextFrames();
    const block = view.page.locator('[data-message-id="s"] .code-block');
    assert.equal(await block.count(), 1);
    assert.equal(await block.getAttribute("data-language"), "ts");
    assert.equal(await block.locator("code").textContent(), "const total = items.reduce((sum, item) => sum + item.price, 0);\nconsole");
    assert.ok((await block.locator(".hljs-keyword").count()) > 0, "partial code is highlighted already");

    await view.notify("stream/delta", { messageId: "s", text: ".log(total);\n```\n\nThat sums the **prices**." });
    await view.nextFrames();
    assert.equal(
      await block.locator("code").textContent(),
      "const total = items.reduce((sum, item) => sum + item.price, 0);\nconsole.log(total);",
    );
    assert.equal(await view.page.locator('[data-message-id="s"] .message__body > p').last().textContent(), "That sums the prices.");
  });

  it("renders tables, lists, quotes and inline code without style attributes", async () => {
    await showAnswers([
      "| Model | Context |\n| :-- | --: |\n| Sonnet | 200K |\n\n> quoted\n\n- one\n- two\n\n3. three\n4. four\n\nUse `npm test`.",
    ]);
    const body = view.page.locator(".message__body");
    assert.equal(await body.locator("table td.align-right").first().textContent(), "200K");
    assert.equal(await body.locator("blockquote").textContent(), "\nquoted\n");
    assert.equal(await body.locator("ul > li").count(), 2);
    assert.equal(await body.locator("ol").getAttribute("start"), "3");
    assert.equal(await body.locator("p code").textContent(), "npm test");
    assert.equal(await body.locator("[style]").count(), 0);
  });
});
