import assert from "node:assert/strict";
import { chatCommands, chatNotifications, chatRequests } from "../../protocol/webview/chat-protocol";
import { HostBridge } from "../../webview/src/host-bridge/host-bridge";
import { HostRequestError } from "../../webview/src/host-bridge/host-request-error";
import type { VsCodeApi } from "../../webview/src/host-bridge/vscode-api";

const protocol = { requests: chatRequests, commands: chatCommands, notifications: chatNotifications };

/** A fake VS Code API and window: what the bridge posts, and a way to deliver host messages. */
function createBridge() {
  const posted: unknown[] = [];
  let state: unknown = undefined;
  const api: VsCodeApi = {
    postMessage: (message) => posted.push(message),
    getState: () => state,
    setState: (next) => {
      state = next;
    },
  };
  const target = new EventTarget();
  const bridge = new HostBridge(protocol, api, target as unknown as Window);
  const deliver = (data: unknown) => target.dispatchEvent(new MessageEvent("message", { data }));
  return { bridge, posted, deliver, setSavedState: (value: unknown) => (state = value) };
}

describe("host bridge (webview side of the protocol)", () => {
  let warnings: unknown[][];
  const originalWarn = console.warn;
  beforeEach(() => {
    warnings = [];
    console.warn = (...args: unknown[]) => warnings.push(args);
  });
  afterEach(() => {
    console.warn = originalWarn;
  });

  it("posts requests with increasing ids and resolves with the validated result", async () => {
    const { bridge, posted, deliver } = createBridge();
    const first = bridge.request("message/send", { content: "hi" });
    const second = bridge.request("message/retry", { messageId: "m1" });
    assert.deepEqual(posted, [
      { kind: "request", id: 1, method: "message/send", params: { content: "hi" } },
      { kind: "request", id: 2, method: "message/retry", params: { messageId: "m1" } },
    ]);
    deliver({ kind: "response", id: 2, ok: true, result: { assistantMessageId: "a2" } });
    deliver({ kind: "response", id: 1, ok: true, result: { conversationId: "c1", assistantMessageId: "a1" } });
    assert.deepEqual(await first, { conversationId: "c1", assistantMessageId: "a1" });
    assert.deepEqual(await second, { assistantMessageId: "a2" });
  });

  it("rejects with the host's coded error", async () => {
    const { bridge, deliver } = createBridge();
    const pending = bridge.request("message/send", { content: "hi" });
    deliver({ kind: "response", id: 1, ok: false, error: { code: "rate_limited", message: "Slow down.", retryable: true } });
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof HostRequestError);
      assert.equal(error.code, "rate_limited");
      assert.equal(error.message, "Slow down.");
      assert.equal(error.isRetryable, true);
      return true;
    });
  });

  it("rejects an answer that does not match the result schema", async () => {
    const { bridge, deliver } = createBridge();
    const pending = bridge.request("message/send", { content: "hi" });
    deliver({ kind: "response", id: 1, ok: true, result: { conversationId: 42 } });
    await assert.rejects(pending, (error: unknown) => error instanceof HostRequestError && error.code === "invalid_response");
  });

  it("gives up after the timeout and ignores a late answer", async () => {
    const { bridge, deliver } = createBridge();
    const pending = bridge.request("message/send", { content: "hi" }, { timeoutMs: 20 });
    await assert.rejects(pending, (error: unknown) => error instanceof HostRequestError && error.code === "timeout");
    deliver({ kind: "response", id: 1, ok: true, result: { conversationId: "c", assistantMessageId: "a" } });
  });

  it("refuses to send params the protocol does not allow", async () => {
    const { bridge, posted } = createBridge();
    await assert.rejects(
      bridge.request("message/send", { content: "" }),
      (error: unknown) => error instanceof HostRequestError && error.code === "validation_failed",
    );
    assert.deepEqual(posted, []);
  });

  it("hands valid notifications to their handlers and drops invalid or unknown ones", () => {
    const { bridge, deliver } = createBridge();
    const deltas: unknown[] = [];
    const unsubscribe = bridge.onNotification("stream/delta", (params) => deltas.push(params));
    deliver({ kind: "notification", method: "stream/delta", params: { messageId: "a", text: "Hel" } });
    deliver({ kind: "notification", method: "stream/delta", params: { messageId: "a" } });
    deliver({ kind: "notification", method: "evil/thing", params: {} });
    deliver("not an envelope");
    deliver({ kind: "response", id: 99, ok: true, result: null });
    unsubscribe();
    deliver({ kind: "notification", method: "stream/delta", params: { messageId: "a", text: "lo" } });
    assert.deepEqual(deltas, [{ messageId: "a", text: "Hel" }]);
    assert.equal(warnings.length, 3, "the invalid, unknown and non-envelope messages are reported");
  });

  it("posts commands and returns saved state only when it has the expected shape", () => {
    const { bridge, posted, setSavedState } = createBridge();
    bridge.command("generation/stop", { messageId: "m" });
    assert.deepEqual(posted, [{ kind: "command", method: "generation/stop", params: { messageId: "m" } }]);
    const schema = chatCommands["generation/stop"];
    setSavedState({ messageId: "saved" });
    assert.deepEqual(bridge.getState(schema), { messageId: "saved" });
    setSavedState({ something: "else" });
    assert.equal(bridge.getState(schema), undefined);
  });
});
