import assert from "node:assert/strict";
import { ChatViewChannel } from "../../extension/src/chat/chat-view-channel";
import type { Message } from "../../protocol/http/conversations";
import type { ChatSnapshot } from "../../protocol/webview/chat-protocol";
import { RecordingView } from "./extension-test-environment";

const HOUR_MS = 3_600_000;

function message(id: string, content: string, status: Message["status"] = "streaming"): Message {
  const time = new Date(0).toISOString();
  return {
    id,
    conversationId: "c1",
    parentId: null,
    role: "assistant",
    content,
    status,
    provider: "anthropic",
    modelId: "anthropic:claude",
    inputTokens: null,
    outputTokens: null,
    timeToFirstTokenMs: null,
    durationMs: null,
    finishReason: null,
    finishReasonRaw: null,
    error: null,
    context: null,
    createdAt: time,
    updatedAt: time,
  };
}

function snapshotWith(messages: Message[]): ChatSnapshot {
  return {
    connection: "ready",
    userName: "someone",
    conversation: { id: "c1", title: "t", modelId: null },
    messages,
    olderCursor: null,
    branchMessageCount: messages.length,
    activeModel: null,
    banner: null,
  };
}

describe("extension: chat view channel (delta batching)", () => {
  // An interval far longer than the test: flushing happens only when the test says so.
  const channelFor = (view: RecordingView) => new ChatViewChannel(view, HOUR_MS);

  it("posts the first text at once, then coalesces what follows within the interval into one notification per message", () => {
    const view = new RecordingView();
    const channel = channelFor(view);
    channel.queueDelta("m1", "first");
    assert.deepEqual(view.notifications("stream/delta"), [{ messageId: "m1", text: "first" }], "the first text does not wait");
    for (let index = 0; index < 100; index++) channel.queueDelta("m1", `${index},`);
    channel.queueDelta("m2", "other");
    assert.equal(view.messages.length, 1, "nothing more posted per token");

    channel.flush();
    assert.deepEqual(view.notifications("stream/delta").slice(1), [
      { messageId: "m1", text: Array.from({ length: 100 }, (_unused, index) => `${index},`).join("") },
      { messageId: "m2", text: "other" },
    ]);
    channel.dispose();
  });

  it("posts text at once again once a whole interval passed without any, and batches at most one post per interval", async () => {
    const view = new RecordingView();
    const channel = new ChatViewChannel(view, 30);
    channel.queueDelta("m1", "a");
    channel.queueDelta("m1", "b");
    assert.deepEqual(view.notifications("stream/delta"), [{ messageId: "m1", text: "a" }]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(view.notifications("stream/delta"), [
      { messageId: "m1", text: "a" },
      { messageId: "m1", text: "b" },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    channel.queueDelta("m1", "c");
    assert.equal(view.notifications("stream/delta").length, 3, "after a quiet interval the next text goes out at once");
    channel.dispose();
  });

  it("posts waiting deltas before any other notification, so the order is kept", () => {
    const view = new RecordingView();
    const channel = channelFor(view);
    channel.queueDelta("m1", "first");
    view.messages.length = 0;
    channel.queueDelta("m1", "abc");
    channel.notify("messages/appended", { conversationId: "c1", messages: [message("m2", "")] });
    assert.deepEqual(
      view.messages.map((posted) => (posted.kind === "notification" ? posted.method : posted.kind)),
      ["stream/delta", "messages/appended"],
    );
    channel.dispose();
  });

  it("drops waiting deltas the final message or a snapshot already contains", () => {
    const view = new RecordingView();
    const channel = channelFor(view);
    channel.sendSnapshot(snapshotWith([message("m1", "ab")]));
    // Text of another answer just went out: what follows waits for the batch.
    channel.queueDelta("m0", "x");
    channel.queueDelta("m1", "cd");
    channel.notify("message/updated", { message: message("m1", "abcd", "complete") });
    channel.queueDelta("m2", "late");
    channel.sendSnapshot(snapshotWith([message("m1", "abcd", "complete"), message("m2", "late")]));
    channel.flush();
    assert.deepEqual(view.notifications("stream/delta"), [{ messageId: "m0", text: "x" }]);
    assert.equal(view.shown.get("m1")?.content, "abcd");
    assert.equal(view.shown.get("m2")?.content, "late");
    channel.dispose();
  });

  it("replaces a message's text at the next flush with what it is then, absorbing deltas queued meanwhile, then streams deltas again", () => {
    const view = new RecordingView();
    const channel = channelFor(view);
    channel.sendSnapshot(snapshotWith([message("m1", "text saved before a reload")]));
    const replayed = message("m1", "text");
    // Text of another answer just went out: what follows waits for the batch.
    channel.queueDelta("m0", "x");
    channel.queueDelta("m1", "stale");
    channel.queueReplacement(replayed);
    replayed.content = "text saved";
    channel.queueDelta("m1", " saved");
    assert.equal(view.messages.length, 2, "only the snapshot and the other answer's text so far");

    channel.flush();
    assert.deepEqual(
      view.messages.slice(2).map((posted) => (posted.kind === "notification" ? posted.method : posted.kind)),
      ["message/updated"],
    );
    assert.equal(view.shown.get("m1")?.content, "text saved", "the replacement carries the text as it is at the flush");
    channel.queueDelta("m1", " before");
    channel.flush();
    assert.deepEqual(view.notifications("stream/delta").slice(1), [{ messageId: "m1", text: " before" }]);
    assert.equal(view.shown.get("m1")?.content, "text saved before");
    channel.dispose();
  });

  it("queues nothing for a hidden view (it gets a snapshot when shown again)", () => {
    const view = new RecordingView(false);
    const channel = channelFor(view);
    channel.queueDelta("m1", "x");
    channel.flush();
    assert.equal(view.droppedWhileHidden.length, 0);
    channel.dispose();
  });
});
