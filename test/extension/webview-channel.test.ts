import assert from "node:assert/strict";
import { z } from "zod";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { WebviewChannel } from "../../extension/src/webview-channel/webview-channel";
import type { HostToWebviewEnvelope } from "../../protocol/webview/envelope";

/** A small protocol of the same shape as the chat's and Team Settings'. */
const protocol = {
  requests: {
    "sum/compute": { params: z.object({ numbers: z.array(z.number()).max(10) }), result: z.object({ sum: z.number() }) },
    "item/read": { params: z.object({ id: z.string() }), result: z.object({ name: z.string() }) },
  },
  commands: {
    "item/remove": z.object({ id: z.string().min(1) }),
  },
  notifications: {
    "item/changed": z.object({ id: z.string() }),
  },
} as const;

function channelWith(overrides: { failRead?: unknown; failRemove?: unknown } = {}) {
  const posted: HostToWebviewEnvelope[] = [];
  const logged: string[] = [];
  const removed: string[] = [];
  const failedCommands: string[] = [];
  const events: string[] = [];
  const channel = new WebviewChannel({
    protocol,
    post: (envelope) => {
      posted.push(envelope);
      events.push(envelope.kind === "notification" ? `notification ${envelope.method}` : `response ${envelope.id}`);
    },
    requests: {
      "sum/compute": async ({ numbers }) => ({ sum: numbers.reduce((total, value) => total + value, 0) }),
      "item/read": async ({ id }) => {
        if (overrides.failRead) throw overrides.failRead;
        return { name: `item ${id}` };
      },
    },
    commands: {
      "item/remove": ({ id }) => {
        if (overrides.failRemove) throw overrides.failRemove;
        removed.push(id);
      },
    },
    log: (message) => logged.push(message),
    onCommandFailed: (name) => failedCommands.push(name),
    beforePost: () => events.push("before post"),
  });
  return { channel, posted, logged, removed, failedCommands, events };
}

describe("extension: WebviewChannel (the host's twin of the webview's HostBridge)", () => {
  it("answers a request by id with the handler's result", async () => {
    const { channel, posted } = channelWith();
    await channel.handleMessage({ kind: "request", id: 7, method: "sum/compute", params: { numbers: [1, 2, 3] } });
    assert.deepEqual(posted, [{ kind: "response", id: 7, ok: true, result: { sum: 6 } }]);
  });

  it("answers unknown requests with not_found and invalid params with validation_failed, naming the field", async () => {
    const { channel, posted } = channelWith();
    await channel.handleMessage({ kind: "request", id: 1, method: "sum/delete", params: {} });
    await channel.handleMessage({ kind: "request", id: 2, method: "sum/compute", params: { numbers: ["one"] } });
    assert.deepEqual(posted[0], {
      kind: "response",
      id: 1,
      ok: false,
      error: { code: "not_found", message: "Unknown request sum/delete" },
    });
    const invalid = posted[1]!;
    assert.ok(invalid.kind === "response" && !invalid.ok);
    assert.equal(invalid.error.code, "validation_failed");
    assert.match(invalid.error.message, /^numbers\.0: /);
  });

  it("turns a failing handler into the protocol's error: the server's code and words, or internal_error", async () => {
    const fromServer = channelWith({ failRead: new TeamServerError(404, "not_found", "That item is gone.") });
    await fromServer.channel.handleMessage({ kind: "request", id: 3, method: "item/read", params: { id: "x" } });
    assert.deepEqual(fromServer.posted[0], {
      kind: "response",
      id: 3,
      ok: false,
      error: { code: "not_found", message: "That item is gone.", retryable: false },
    });
    const unexpected = channelWith({ failRead: new Error("disk full") });
    await unexpected.channel.handleMessage({ kind: "request", id: 4, method: "item/read", params: { id: "x" } });
    assert.deepEqual(unexpected.posted[0], { kind: "response", id: 4, ok: false, error: { code: "internal_error", message: "disk full" } });
  });

  it("runs valid commands; ignores malformed envelopes, unknown and invalid commands with a log line, posting nothing", async () => {
    const { channel, posted, logged, removed } = channelWith();
    await channel.handleMessage({ kind: "command", method: "item/remove", params: { id: "a" } });
    await channel.handleMessage({ kind: "command", method: "item/remove", params: { id: "" } });
    await channel.handleMessage({ kind: "command", method: "item/explode", params: {} });
    await channel.handleMessage({ kind: "nonsense" });
    await channel.handleMessage("not even an object");
    assert.deepEqual(removed, ["a"]);
    assert.deepEqual(posted, []);
    assert.equal(logged.length, 4);
    assert.match(logged[0]!, /invalid item\/remove command: id: /);
    assert.match(logged[1]!, /unknown command .*item\/explode/);
  });

  it("tells its owner about a failing command (it has no answer to carry the error)", async () => {
    const { channel, failedCommands, logged } = channelWith({ failRemove: new Error("locked") });
    await channel.handleMessage({ kind: "command", method: "item/remove", params: { id: "a" } });
    assert.deepEqual(failedCommands, ["item/remove"]);
    assert.match(logged[0]!, /item\/remove command failed/);
  });

  it("lets the owner post what it holds back before each response and notification, and posts nothing once disposed", async () => {
    const { channel, events, posted } = channelWith();
    channel.notify("item/changed", { id: "a" });
    await channel.handleMessage({ kind: "request", id: 9, method: "sum/compute", params: { numbers: [] } });
    channel.notifyAsIs("item/changed", { id: "b" });
    assert.deepEqual(events, ["before post", "notification item/changed", "before post", "response 9", "notification item/changed"]);
    channel.dispose();
    channel.notify("item/changed", { id: "c" });
    assert.equal(posted.length, 3);
  });
});
