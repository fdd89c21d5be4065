import assert from "node:assert/strict";
import { HELD_MESSAGES_MAX, HeldBranch } from "../../extension/src/chat/held-branch";
import type { Conversation, ConversationDetailResponse, Message } from "../../protocol/http/conversations";

const time = new Date(0).toISOString();
const conversation: Conversation = {
  id: "c1",
  title: "A long one",
  modelId: "groq:llama",
  leafMessageId: null,
  createdAt: time,
  updatedAt: time,
  lastMessageAt: time,
};

function message(index: number, overrides: Partial<Message> = {}): Message {
  const isUser = index % 2 === 1;
  return {
    id: `m${index}`,
    conversationId: "c1",
    parentId: index === 1 ? null : `m${index - 1}`,
    role: isUser ? "user" : "assistant",
    content: `text ${index}`,
    status: "complete",
    provider: isUser ? null : "groq",
    modelId: isUser ? null : "groq:llama",
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
    ...overrides,
  };
}

/** Messages `from`..`to` (1-based, inclusive) of a branch of `total`, as the server pages it. */
function page(from: number, to: number, total: number): ConversationDetailResponse {
  const messages = Array.from({ length: to - from + 1 }, (_, offset) => message(from + offset));
  return { conversation, messages, branchMessageCount: total, olderCursor: from > 1 ? `before-m${from}` : null };
}

const asIs = (held: Message) => held;
const ids = (branch: HeldBranch) => branch.messages.map((held) => held.id);

describe("extension: HeldBranch (what the host holds of the open conversation)", () => {
  it("holds the newest page with its cursor and count, through the resolver", () => {
    const branch = new HeldBranch();
    const resolved: string[] = [];
    branch.hold(page(951, 1000, 1000), 50, (held) => {
      resolved.push(held.id);
      return held;
    });
    assert.equal(branch.conversationId, "c1");
    assert.equal(branch.messages.length, 50);
    assert.equal(branch.olderCursor, "before-m951");
    assert.equal(branch.branchMessageCount, 1000);
    assert.equal(branch.lastAnswerId, "m1000");
    assert.equal(resolved.length, 50, "every message goes through the resolver (streaming answers keep their object)");
    assert.equal(branch.needsTrimming, false);
  });

  it("counts what is appended and asks to be trimmed past the bound, but only when the server pages", () => {
    const branch = new HeldBranch();
    branch.hold(page(951, 1000, 1000), 50, asIs);
    for (let index = 1001; branch.messages.length <= HELD_MESSAGES_MAX; index += 2) branch.append([message(index), message(index + 1)]);
    assert.equal(branch.branchMessageCount, 1000 + branch.messages.length - 50);
    assert.equal(branch.needsTrimming, true);

    const unpaged = new HeldBranch();
    unpaged.hold(page(1, 1000, 1000), 50, asIs);
    unpaged.append([message(1001), message(1002)]);
    assert.equal(unpaged.needsTrimming, false, "a server that sent the whole branch would send it again");
  });

  it("adopts a newer read of the newest page, keeping what was appended while it was read", () => {
    const branch = new HeldBranch();
    branch.hold(page(951, 1000, 1000), 50, asIs);
    for (let index = 1001; index <= 1100; index += 2) branch.append([message(index), message(index + 1)]);
    const readBeforeLastSend = page(1049, 1098, 1098);

    assert.equal(branch.adoptNewerRead(readBeforeLastSend, 50, asIs), true);
    assert.deepEqual(ids(branch), [...readBeforeLastSend.messages.map((held) => held.id), "m1099", "m1100"]);
    assert.equal(branch.branchMessageCount, 1100);
    assert.equal(branch.olderCursor, "before-m1049");
  });

  it("drops a newer read whose last message it no longer holds (a retry replaced it)", () => {
    const branch = new HeldBranch();
    branch.hold(page(1, 10, 10), 50, asIs);
    const before = ids(branch);
    assert.equal(branch.adoptNewerRead(page(1, 12, 12), 50, asIs), false);
    assert.deepEqual(ids(branch), before);
  });

  it("replaces a retried answer and what followed it when its question is held; otherwise leaves it to the server", () => {
    const branch = new HeldBranch();
    branch.hold(page(951, 1000, 1000), 50, asIs);
    const retried = message(960, { id: "new-answer" });
    assert.equal(branch.replaceAnswer("m960", retried), true);
    assert.equal(branch.branchMessageCount, 960);
    assert.deepEqual(ids(branch).slice(-2), ["m959", "new-answer"]);

    assert.equal(branch.replaceAnswer("m951", message(951, { id: "x" })), false, "the first held message's question is in an older page");
    assert.equal(branch.replaceAnswer("m2", message(2, { id: "y" })), false, "not held at all");
    assert.equal(branch.branchMessageCount, 960, "unchanged until the server says");
  });

  it("starts a new conversation empty and clears everything", () => {
    const branch = new HeldBranch();
    branch.startNew(conversation);
    assert.equal(branch.conversationId, "c1");
    assert.deepEqual(ids(branch), []);
    assert.equal(branch.olderCursor, null);
    branch.append([message(1), message(2)]);
    assert.equal(branch.branchMessageCount, 2);
    branch.updateConversation({ ...conversation, title: "Renamed" });
    assert.equal(branch.conversation?.title, "Renamed");
    branch.updateConversation({ ...conversation, id: "other", title: "Not ours" });
    assert.equal(branch.conversation?.title, "Renamed");
    branch.clear();
    assert.equal(branch.conversationId, null);
    assert.equal(branch.branchMessageCount, 0);
    assert.equal(branch.lastAnswerId, null);
  });
});
