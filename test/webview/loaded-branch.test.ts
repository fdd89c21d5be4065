import assert from "node:assert/strict";
import type { Message } from "../../protocol/http/conversations";
import { LoadedBranch } from "../../webview/src/chat/loaded-branch";
import { buildConversation, buildMessage } from "../../tools/webview-harness/chat-fixtures";

/** Every message is estimated at 100 px, so offsets are easy to read. */
function createBranch(): LoadedBranch {
  return new LoadedBranch(() => 100);
}

function loadedIds(branch: LoadedBranch): string[] {
  return Array.from({ length: branch.length }, (_, index) => branch.at(index)!.message.id);
}

describe("LoadedBranch (what the chat list holds of a long branch, no DOM)", () => {
  const messages = buildConversation(10); // 20 messages: user-0, answer-0, … answer-9

  it("holds the newest page, counts what is above it, and adds older pages in front", () => {
    const branch = createBranch();
    branch.reset({ messages: messages.slice(15), olderCursor: "before:answer-7", branchMessageCount: 20 }, { keepOlder: false });
    assert.deepEqual(loadedIds(branch), ["answer-7", "user-8", "answer-8", "user-9", "answer-9"]);
    assert.equal(branch.unloadedCount, 15);
    assert.equal(branch.unloadedHeightPx, 1500, "the messages above are estimated at the average height");

    assert.equal(branch.prepend({ messages: messages.slice(10, 15), olderCursor: "before:user-5" }), 5);
    assert.deepEqual(loadedIds(branch).slice(0, 6), ["user-5", "answer-5", "user-6", "answer-6", "user-7", "answer-7"]);
    assert.equal(branch.get("answer-9")!.index, 9, "indexes follow the new order");
    assert.equal(branch.unloadedCount, 10);
    assert.equal(branch.olderCursor, "before:user-5");

    branch.prepend({ messages: messages.slice(0, 10), olderCursor: null });
    assert.equal(branch.length, 20);
    assert.equal(branch.unloadedCount, 0);
    assert.equal(branch.unloadedHeightPx, 0);
    assert.equal(branch.indexAt(1_050), 10);
  });

  it("never holds a message twice when a page repeats one", () => {
    const branch = createBranch();
    branch.reset({ messages: messages.slice(10), olderCursor: "before:user-5", branchMessageCount: 20 }, { keepOlder: false });
    assert.equal(branch.prepend({ messages: messages.slice(4, 11), olderCursor: "before:user-2" }), 6);
    assert.deepEqual(loadedIds(branch).slice(0, 8), [
      "user-2",
      "answer-2",
      "user-3",
      "answer-3",
      "user-4",
      "answer-4",
      "user-5",
      "answer-5",
    ]);
  });

  it("keeps measured heights by id: a message seen again is not estimated again", () => {
    const branch = createBranch();
    branch.reset({ messages: messages.slice(16), olderCursor: "before:user-8", branchMessageCount: 20 }, { keepOlder: false });
    branch.setMeasuredHeight(branch.get("user-8")!, 40);
    branch.setMeasuredHeight(branch.get("answer-8")!, 260);
    assert.equal(branch.totalHeightPx, 40 + 260 + 200);
    // The same conversation's newest page again (the view became visible): heights stay.
    branch.reset({ messages: messages.slice(16), olderCursor: "before:user-8", branchMessageCount: 20 }, { keepOlder: true });
    assert.equal(branch.heightOf(branch.get("answer-8")!), 260);
    // Another conversation: nothing is carried over.
    branch.reset({ messages: messages.slice(16), olderCursor: null, branchMessageCount: 4 }, { keepOlder: false });
    assert.equal(branch.heightOf(branch.get("answer-8")!), 100);
  });

  it("keeps older pages when the same branch's newest page comes again, and drops them when the page starts elsewhere", () => {
    const branch = createBranch();
    branch.reset({ messages: messages.slice(15), olderCursor: "before:answer-7", branchMessageCount: 20 }, { keepOlder: false });
    branch.prepend({ messages: messages.slice(10, 15), olderCursor: "before:user-5" });
    const withAnswer = [...messages.slice(15), buildMessage({ id: "user-10", role: "user", parentId: "answer-9" })];
    branch.reset({ messages: withAnswer, olderCursor: "before:answer-7", branchMessageCount: 21 }, { keepOlder: true });
    assert.equal(branch.length, 11);
    assert.equal(branch.at(0)!.message.id, "user-5");
    assert.equal(branch.olderCursor, "before:user-5", "the cursor of the oldest page loaded stays");

    // The branch changed above what the page holds (an edit further up): the page starts at a message not loaded.
    const edited = [
      buildMessage({ id: "user-9b", role: "user", parentId: "answer-8b" }),
      buildMessage({ id: "answer-9b", parentId: "user-9b" }),
    ];
    branch.reset({ messages: edited, olderCursor: "before:user-9b", branchMessageCount: 20 }, { keepOlder: true });
    assert.deepEqual(loadedIds(branch), ["user-9b", "answer-9b"], "a page starting at a message not loaded replaces all");
    assert.equal(branch.olderCursor, "before:user-9b");
    assert.equal(branch.unloadedCount, 18);
  });

  it("replaces a reply and what followed it with a new branch, and ignores messages that do not connect", () => {
    const branch = createBranch();
    branch.reset({ messages: messages.slice(14), olderCursor: "before:user-7", branchMessageCount: 20 }, { keepOlder: false });
    const retried = buildMessage({ id: "answer-7b", parentId: "user-7", status: "streaming", content: "" });
    const result = branch.upsert(retried);
    assert.equal(result?.kind, "appended");
    assert.deepEqual(result?.kind === "appended" ? result.removed.map((entry) => entry.message.id) : [], [
      "answer-7",
      "user-8",
      "answer-8",
      "user-9",
      "answer-9",
    ]);
    assert.deepEqual(loadedIds(branch), ["user-7", "answer-7b"]);
    assert.equal(branch.streamingEntry()?.message.id, "answer-7b");
    assert.equal(branch.totalHeightPx, 200);

    assert.equal(branch.upsert(buildMessage({ id: "stray", parentId: "answer-2" })), undefined, "its parent is in a page not loaded");
    assert.equal(branch.upsert(buildMessage({ id: "new-root", role: "user" })), undefined, "the root is not loaded");
    assert.equal(branch.upsert(buildMessage({ id: "system", role: "system", parentId: "answer-7b" })), undefined);
    assert.equal(branch.length, 2);

    const finished: Message = { ...retried, status: "complete", content: "Done." };
    assert.equal(branch.upsert(finished)?.kind, "updated");
    assert.equal(branch.streamingEntry(), undefined);
  });

  it("clears an answer's waiting status and retry state when it moves on", () => {
    const branch = createBranch();
    const answer = buildMessage({ id: "a", parentId: null, status: "streaming", content: "" });
    branch.reset({ messages: [answer], olderCursor: null, branchMessageCount: 1 }, { keepOlder: false });
    const entry = branch.get("a")!;
    entry.streamStatus = { phase: "summarising", messageCount: 1240 };
    branch.appendText(entry, "Hello");
    assert.equal(entry.streamStatus, undefined, "text arrived: no longer waiting");
    assert.equal(entry.message.content, "Hello");
    entry.retry = { isPending: false, error: "Failed" };
    branch.replaceMessage(entry, { ...entry.message, status: "complete" });
    assert.equal(entry.retry, undefined);
  });

  it("keeps a pending retry and a summarising status across a snapshot of the same messages", () => {
    const branch = createBranch();
    const question = buildMessage({ id: "q", role: "user" });
    const failed = buildMessage({ id: "failed", parentId: "q", status: "error" });
    const answer = buildMessage({ id: "a", parentId: "failed", status: "streaming", content: "" });
    branch.reset({ messages: [question, failed, answer], olderCursor: null, branchMessageCount: 3 }, { keepOlder: false });
    branch.get("failed")!.retry = { isPending: true };
    branch.get("a")!.streamStatus = { phase: "summarising", messageCount: 40 };
    branch.reset({ messages: [question, failed, answer], olderCursor: null, branchMessageCount: 3 }, { keepOlder: true });
    assert.deepEqual(branch.get("failed")!.retry, { isPending: true });
    assert.deepEqual(branch.get("a")!.streamStatus, { phase: "summarising", messageCount: 40 });
    // Once the answer has finished, there is nothing to wait for.
    branch.reset(
      { messages: [question, failed, { ...answer, status: "complete" }], olderCursor: null, branchMessageCount: 3 },
      { keepOlder: true },
    );
    assert.equal(branch.get("a")!.streamStatus, undefined);
  });
});
